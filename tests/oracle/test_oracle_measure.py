"""Metric specs, measurement over real files, evidence, aggregation and model evaluation."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from factories import conversions_spec

from oracle.aggregate import aggregate, scale
from oracle.errors import EvidenceError, SourceError, SpecError
from oracle.evidence import EvidenceStore
from oracle.measure import measure
from oracle.spec import load_spec

ACCURACY_SPEC = {
    "name": "model accuracy in production",
    "version": 1,
    "unit": "fraction",
    "decimals": 4,
    "higher_is_better": True,
    "window_seconds": 1000,
    "source": {"kind": "model_eval", "path": "predictions.jsonl", "metric": "accuracy"},
}


def _spec(**changes):
    return load_spec(json.dumps(ACCURACY_SPEC | changes))


def test_the_metric_id_is_the_same_for_the_same_spec_however_written():
    reordered = json.dumps(dict(reversed(list(ACCURACY_SPEC.items()))), indent=4)
    assert load_spec(reordered).metric_id == _spec().metric_id
    assert _spec(version=2).metric_id != _spec().metric_id
    assert len(_spec().metric_id) == 32


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"decimals": -1}, "decimals"),
        ({"aggregation": "median"}, "aggregation"),
        ({"colour": "red"}, "colour"),
        ({"source": {"kind": "ftp", "path": "x"}}, "source"),
        ({"name": ""}, "name"),
    ],
)
def test_a_malformed_spec_names_the_field(change, field):
    with pytest.raises(SpecError, match=field):
        load_spec(json.dumps(ACCURACY_SPEC | change))


def _write_predictions(root, rows):
    (root / "predictions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_accuracy_is_computed_from_predictions_and_labels_inside_the_window(tmp_path):
    rows = [{"time": 100, "prediction": 1, "label": 0}]  # outside the window (observed at 2000, window 1000)
    rows += [{"time": 1001 + i, "prediction": i % 2, "label": i % 2 if i < 23 else 1 - i % 2} for i in range(25)]
    _write_predictions(tmp_path, rows)
    store = EvidenceStore(tmp_path / "evidence")
    m = measure(_spec(), tmp_path, store, observed_at=2000)
    assert (m.value, m.used, m.ignored) == (9200, 25, 1)  # 23 of 25 right: 0.9200
    assert store.get(m.evidence_hash) == (tmp_path / "predictions.jsonl").read_bytes()


def test_f1_precision_and_recall_are_exact(tmp_path):
    # tp=3 fp=1 fn=2 tn=4: precision 3/4, recall 3/5, f1 = 2/3
    pairs = [(1, 1)] * 3 + [(1, 0)] + [(0, 1)] * 2 + [(0, 0)] * 4
    _write_predictions(tmp_path, [{"time": 1500, "prediction": p, "label": y} for p, y in pairs])
    store = EvidenceStore(tmp_path / "evidence")
    values = {
        metric: measure(_spec(source={**ACCURACY_SPEC["source"], "metric": metric}), tmp_path, store, 2000).value
        for metric in ("precision", "recall", "f1")
    }
    assert values == {"precision": 7500, "recall": 6000, "f1": 6666}


def test_p95_latency_from_a_load_test_log(tmp_path):
    (tmp_path / "load.jsonl").write_text(
        "".join(json.dumps({"t": 10 + i, "r": {"ms": i + 0.5}}) + "\n" for i in range(100))
    )
    spec = load_spec(
        json.dumps(
            {
                "name": "p95 latency",
                "version": 1,
                "unit": "ms",
                "decimals": 1,
                "higher_is_better": False,
                "aggregation": "p95",
                "source": {"kind": "jsonl", "path": "load.jsonl", "value_field": "r.ms", "time_field": "t"},
            }
        )
    )
    m = measure(spec, tmp_path, EvidenceStore(tmp_path / "ev"), observed_at=500)
    assert m.value == 945  # nearest rank: the 95th of 100 values, 94.5 ms


def test_conversions_summed_from_a_csv_export(tmp_path):
    (tmp_path / "conversions.csv").write_text("day,conversions\n86400,120\n172800,95.5\n259200,80\n")
    source = {"kind": "csv", "path": "conversions.csv", "value_column": "conversions", "time_column": "day"}
    spec = conversions_spec(source, window_seconds=100000)
    m = measure(spec, tmp_path, EvidenceStore(tmp_path / "ev"), observed_at=259200)
    assert (m.value, m.used, m.ignored) == (175, 2, 1)  # 95.5 + 80, floored


def test_no_default_value_from_an_empty_window_a_missing_file_or_bad_data(tmp_path):
    store = EvidenceStore(tmp_path / "ev")
    with pytest.raises(SourceError, match="cannot read"):
        measure(_spec(), tmp_path, store, 2000)
    _write_predictions(tmp_path, [{"time": 10, "prediction": 1, "label": 1}])
    with pytest.raises(SourceError, match="no predictions in the window"):
        measure(_spec(), tmp_path, store, 2000)
    (tmp_path / "predictions.jsonl").write_text('{"time": 1500, "prediction": 1}\n')
    with pytest.raises(SourceError, match="cannot parse"):
        measure(_spec(), tmp_path, store, 2000)


def test_altered_evidence_is_detected(tmp_path):
    store = EvidenceStore(tmp_path)
    digest = store.put(b"raw evidence")
    assert store.put(b"raw evidence") == digest
    (tmp_path / digest.hex()[:2] / digest.hex()).write_bytes(b"raw evidence, edited")
    with pytest.raises(EvidenceError, match="altered"):
        store.get(digest)


def test_aggregations_and_scaling():
    values = [Fraction(v) for v in (5, 1, 4, 2, 3)]
    expected = {"latest": 3, "sum": 15, "count": 5, "mean": 3, "min": 1, "max": 5, "p50": 3, "p95": 5, "p99": 5}
    assert {how: aggregate(values, how) for how in expected} == expected
    assert aggregate([], "count") == 0
    assert scale(Fraction(-1, 3), 2) == -34  # floor, toward minus infinity


def test_a_spec_cannot_reach_outside_the_data_directory(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "secret.jsonl").write_text('{"time": 1, "prediction": 1, "label": 1}\n')
    spec = _spec(source={**ACCURACY_SPEC["source"], "path": "../secret.jsonl"})
    with pytest.raises(SourceError, match="outside the data directory"):
        measure(spec, tmp_path / "data", EvidenceStore(tmp_path / "ev"), 2000)


@pytest.mark.parametrize("name", ["ORACLE_KEYSTORE_PASSWORD", "ORACLE_API_KEY", "HOME", "source_lower"])
def test_a_spec_can_only_name_source_secrets(name):
    source = {"kind": "sql", "url_env": name, "query": "SELECT 1"}
    with pytest.raises(SpecError, match="url_env"):
        load_spec(json.dumps(ACCURACY_SPEC | {"source": source}))


def test_the_spec_is_published_beside_the_evidence_under_its_metric_id(tmp_path):
    _write_predictions(tmp_path, [{"time": 1500, "prediction": 1, "label": 1}])
    store = EvidenceStore(tmp_path / "evidence")
    spec = _spec()
    measure(spec, tmp_path, store, 2000)
    assert load_spec(store.get(spec.metric_id).decode()) == spec
