"""Measure a metric spec: read the source's raw bytes, keep them as evidence, compute the value
over the window, and scale it to the integer the contract compares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oracle.aggregate import aggregate, scale
from oracle.evidence import EvidenceStore
from oracle.model_eval import classification_metric
from oracle.sources import fetch, parse_rows
from oracle.spec import MetricSpec, ModelEvaluationSource


@dataclass(frozen=True)
class Measurement:
    value: int  # floor(measured * 10**decimals)
    observed_at: int
    evidence_hash: bytes
    used: int  # data points inside the window
    ignored: int  # data points outside it


def measure(spec: MetricSpec, data_root: Path, store: EvidenceStore, observed_at: int) -> Measurement:
    """Never returns a default or partial value: an unreadable source or an empty window raises.
    The spec's canonical bytes are stored beside the evidence, under their hash: the metricId, so
    an auditor finds the spec from the chain alone."""
    raw = fetch(spec.source, Path(data_root), observed_at, spec.window_seconds)
    store.put(spec.canonical())
    evidence_hash = store.put(raw)
    value, used, ignored = value_from_evidence(spec, raw, observed_at)
    return Measurement(value, observed_at, evidence_hash, used, ignored)


def value_from_evidence(spec: MetricSpec, raw: bytes, observed_at: int) -> tuple[int, int, int]:
    """The scaled value the spec gives over evidence bytes at `observed_at`, with the data points
    used and ignored: what the oracle computed, and what an auditor recomputes."""
    rows = parse_rows(spec.source, raw)
    start = observed_at - spec.window_seconds if spec.window_seconds else None
    inside = [r for r in rows if r[0] <= observed_at and (start is None or r[0] > start)]
    if isinstance(spec.source, ModelEvaluationSource):
        pairs = [(r[1], r[2]) for r in inside]
        value = classification_metric(pairs, spec.source.metric, spec.source.positive_label)
    else:
        value = aggregate([r[1] for r in inside], spec.aggregation)
    return scale(value, spec.decimals), len(inside), len(rows) - len(inside)
