"""Measure a metric spec: read the source's raw bytes, keep them as evidence, compute the value
over the window, and scale it to the integer the contract compares."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from oracle.aggregate import aggregate, scale
from oracle.errors import SourceError
from oracle.evidence import EvidenceStore
from oracle.model_eval import classification_metric
from oracle.spec import CsvSource, JsonLinesSource, MetricSpec, ModelEvaluationSource


@dataclass(frozen=True)
class Measurement:
    value: int  # floor(measured * 10**decimals)
    observed_at: int
    evidence_hash: bytes
    used: int  # data points inside the window
    ignored: int  # data points outside it


def measure(spec: MetricSpec, data_root: Path, store: EvidenceStore, observed_at: int) -> Measurement:
    """Never returns a default or partial value: an unreadable source or an empty window raises."""
    raw = _read(Path(data_root) / spec.source.path)
    evidence_hash = store.put(raw)
    rows = _rows(spec, raw)
    start = observed_at - spec.window_seconds if spec.window_seconds else None
    inside = [r for r in rows if r[0] <= observed_at and (start is None or r[0] > start)]
    if isinstance(spec.source, ModelEvaluationSource):
        pairs = [(r[1], r[2]) for r in inside]
        value = classification_metric(pairs, spec.source.metric, spec.source.positive_label)
    else:
        value = aggregate([r[1] for r in inside], spec.aggregation)
    return Measurement(scale(value, spec.decimals), observed_at, evidence_hash, len(inside), len(rows) - len(inside))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from None


def _rows(spec: MetricSpec, raw: bytes) -> list[tuple]:
    """(time, value) rows, or (time, prediction, label) for model evaluation, in time order."""
    source = spec.source
    try:
        if isinstance(source, CsvSource):
            reader = csv.DictReader(io.StringIO(raw.decode()))
            rows = [(int(r[source.time_column]), Fraction(r[source.value_column])) for r in reader]
        else:
            records = [json.loads(line, parse_float=Fraction) for line in raw.decode().splitlines() if line.strip()]
            if isinstance(source, JsonLinesSource):
                rows = [(int(_field(r, source.time_field)), Fraction(_field(r, source.value_field))) for r in records]
            else:
                rows = [
                    (int(_field(r, source.time_field)), _field(r, source.prediction_field), _field(r, source.label_field))
                    for r in records
                ]
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"cannot parse {source.path} as {source.kind}: {exc!r}") from None
    return sorted(rows, key=lambda r: r[0])


def _field(record: dict, dotted: str):
    for part in dotted.split("."):
        record = record[part]
    return record
