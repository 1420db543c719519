"""Declarative metric specs. The canonical JSON of a spec hashes to the `metricId` a milestone
carries, so the same spec gives the same id on every machine."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from eth_utils import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oracle.errors import SpecError

# Secrets (tokens, database URLs) come from environment variables a spec names; only these names,
# so a spec can never make a node read, send or echo its own settings (keystore password, API key).
SecretEnv = Annotated[str, Field(pattern=r"^SOURCE_[A-Z0-9_]+$", max_length=100)]
# Bounds on every text a spec holds: a spec is stored with each milestone and published.
Name = Annotated[str, Field(max_length=200)]  # a column, a field path, a unit
Location = Annotated[str, Field(max_length=2_000)]  # a file path or a URL
Query = Annotated[str, Field(min_length=1, max_length=10_000)]

Aggregation = Literal["latest", "sum", "count", "mean", "min", "max", "p50", "p95", "p99"]


# The canonical JSON the metricId hashes: sorted keys, no whitespace, every field of form 1 with its
# default filled in. Fields added since are in their class's `added_fields`: left out while at their
# default, so adding one keeps every existing metricId. A change to what form 1 means needs form 2.
CANONICAL_FORM = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    added_fields: ClassVar[frozenset[str]] = frozenset()  # fields added after canonical form 1

    def canonical_fields(self) -> dict[str, Any]:
        """The model as JSON values, nested models included, less added fields at their default."""
        data = self.model_dump(mode="json")
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, _Strict):
                data[name] = value.canonical_fields()
            elif name in self.added_fields and value == info.get_default(call_default_factory=True):
                del data[name]
        return data


class CsvSource(_Strict):
    """Rows of a CSV file; `value_column` is aggregated over rows whose `time_column` is in the window."""

    kind: Literal["csv"]
    path: Location
    value_column: Name
    time_column: Name


class JsonLinesSource(_Strict):
    """One JSON object a line; fields are dotted paths (`metrics.latency_ms`)."""

    kind: Literal["jsonl"]
    path: Location
    value_field: Name
    time_field: Name


class ModelEvaluationSource(_Strict):
    """Predictions and labels, one JSON object a line; the oracle computes the metric itself."""

    kind: Literal["model_eval"]
    path: Location
    metric: Literal["accuracy", "precision", "recall", "f1"]
    prediction_field: Name = "prediction"
    label_field: Name = "label"
    time_field: Name = "time"
    positive_label: Name | int | bool = 1


class HttpJsonSource(_Strict):
    """A JSON endpoint: `records_field` (dotted path; empty: the document) holds a list of records or
    one record. A bearer token, if needed, comes from the environment variable `token_env`, never
    from the spec (the spec is hashed and published)."""

    kind: Literal["http_json"]
    url: Location = Field(pattern=r"^https?://")
    records_field: Name = ""
    value_field: Name
    time_field: Name
    token_env: SecretEnv | None = None


class SqlSource(_Strict):
    """A query against any SQLAlchemy database, run read-only. The URL (with its credentials) comes
    from the environment variable `url_env`, never from the spec, which is hashed and published."""

    kind: Literal["sql"]
    url_env: SecretEnv
    query: Query
    time_column: Name = "time"
    value_column: Name = "value"


class PrometheusSource(_Strict):
    """The Prometheus HTTP query API: a range query over the window (one point per `step_seconds`),
    or an instant query at observedAt when the spec has no window. The query must return exactly
    one series: aggregate in PromQL (`sum(...)`) rather than here."""

    kind: Literal["prometheus"]
    url: Location = Field(pattern=r"^https?://")
    query: Query
    step_seconds: int = Field(default=60, gt=0)
    token_env: SecretEnv | None = None


Source = Annotated[
    CsvSource | JsonLinesSource | ModelEvaluationSource | HttpJsonSource | SqlSource | PrometheusSource,
    Field(discriminator="kind"),
]


class MetricSpec(_Strict):
    name: Name = Field(min_length=1)
    version: int = Field(ge=1)
    source: Source
    aggregation: Aggregation = "latest"
    window_seconds: int | None = Field(default=None, gt=0, description="only data in (observedAt - window, observedAt]")
    unit: Name
    decimals: int = Field(ge=0, le=18, description="the contract sees floor(value * 10**decimals)")
    higher_is_better: bool

    def canonical(self) -> bytes:
        """The bytes the metric id hashes (canonical form 1, see CANONICAL_FORM)."""
        return json.dumps(self.canonical_fields(), sort_keys=True, separators=(",", ":")).encode()

    @property
    def metric_id(self) -> bytes:
        return keccak(self.canonical())


def load_spec(text: str) -> MetricSpec:
    """Parse a JSON spec; a malformed one raises SpecError naming the offending field."""
    try:
        return MetricSpec.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(spec)'}: {e['msg']}" for e in exc.errors())
        raise SpecError(f"invalid metric spec: {problems}") from None
