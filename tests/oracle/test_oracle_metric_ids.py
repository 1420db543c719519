"""A metricId is forever: specs already on chain keep their ids when the spec format grows. The ids
below were computed by canonical form 1; a field added with a default (named in `added_fields`) must
not move them."""

from __future__ import annotations

import json

import pytest
from pydantic import Field

from oracle.spec import CsvSource, MetricSpec

SPECS = {
    "csv": {
        "name": "uptime",
        "version": 1,
        "source": {"kind": "csv", "path": "uptime.csv", "value_column": "up", "time_column": "t"},
        "aggregation": "mean",
        "window_seconds": 86_400,
        "unit": "%",
        "decimals": 2,
        "higher_is_better": True,
    },
    "sql": {
        "name": "activated users",
        "version": 1,
        "source": {"kind": "sql", "url_env": "SOURCE_SAAS_DB", "query": "SELECT id, t AS time, 1 AS value FROM u"},
        "aggregation": "count",
        "unit": "users",
        "decimals": 0,
        "higher_is_better": True,
    },
    "model_eval": {
        "name": "accuracy",
        "version": 2,
        "source": {"kind": "model_eval", "path": "predictions.jsonl", "metric": "accuracy"},
        "unit": "fraction",
        "decimals": 4,
        "higher_is_better": True,
    },
    "prometheus": {
        "name": "p95 latency",
        "version": 1,
        "source": {"kind": "prometheus", "url": "http://prometheus:9090", "query": "histogram_quantile(0.95, x)"},
        "unit": "ms",
        "decimals": 0,
        "higher_is_better": False,
    },
}
PINNED = {
    "csv": "0x1f06f899466d40e6dd0dbc89d8a032a0ebf50e25e33ea2850e6612880468e68b",
    "sql": "0x31d74c8bcc33f158d66d08ef0c5bbb8a5c78930ae82068497857297f8df2c60b",
    "model_eval": "0x8d9d37f89908189e96d1a22da6727c0647b100d505775bda373b1535ade70532",
    "prometheus": "0xfebc54a4aa6daff126e5205e993aa62188dc127db2df65739ee8bc53a5db7b8a",
}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_the_metric_ids_of_canonical_form_1_stay_as_pinned(kind):
    spec = MetricSpec.model_validate(SPECS[kind])
    assert "0x" + spec.metric_id.hex() == PINNED[kind]
    # form 1 is the whole model with its defaults, keys sorted, no whitespace
    assert spec.canonical() == json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


class CsvSourceWithDelimiter(CsvSource):
    """A source kind as it would be after gaining a defaulted field."""

    added_fields = frozenset({"delimiter"})
    delimiter: str = Field(default=",", max_length=1)


def test_a_field_added_with_its_default_keeps_the_metric_id_and_a_set_one_changes_it():
    spec = MetricSpec.model_validate(SPECS["csv"])
    grown = spec.model_copy(update={"source": CsvSourceWithDelimiter(**spec.source.model_dump())})
    assert grown.canonical() == spec.canonical() and grown.metric_id == spec.metric_id

    semicolons = spec.model_copy(update={"source": CsvSourceWithDelimiter(**spec.source.model_dump(), delimiter=";")})
    assert semicolons.metric_id != spec.metric_id
    assert b'"delimiter":";"' in semicolons.canonical()
