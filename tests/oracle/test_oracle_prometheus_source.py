"""The Prometheus source against a real Prometheus server started by the test, on data backfilled
with promtool (Debian's prometheus package; .ci/run installs it)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time

import pytest
import requests
from factories import conversions_spec

from oracle.errors import SourceError
from oracle.evidence import EvidenceStore
from oracle.measure import measure

START = 1_700_000_000  # one point a minute for two hours: conversions = minute % 7


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        if os.environ.get("CI"):
            pytest.fail("prometheus and promtool are required in CI (.ci/run installs them)")
        pytest.skip("Prometheus is not installed (apt-get install prometheus); CI runs these tests")
    root = tmp_path_factory.mktemp("prometheus")
    lines = ["# HELP conversions Conversions per minute.", "# TYPE conversions gauge"]
    lines += [f'conversions{{campaign="spring"}} {i % 7} {START + 60 * i}' for i in range(120)]
    lines += [f'conversions{{campaign="autumn"}} 1 {START + 60 * i}' for i in range(120)]
    (root / "data.om").write_text("\n".join([*lines, "# EOF"]) + "\n")
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "data.om", "tsdb"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (root / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            "prometheus",
            "--config.file=prometheus.yml",
            "--storage.tsdb.path=tsdb",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("Prometheus did not become ready in 10 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _spec(url: str, query: str, aggregation: str, window: int | None):
    source = {"kind": "prometheus", "url": url, "query": query, "step_seconds": 60}
    return conversions_spec(source, aggregation=aggregation, window_seconds=window)


def test_a_range_query_over_the_window_is_aggregated(prometheus, tmp_path):
    store = EvidenceStore(tmp_path)
    observed = START + 60 * 13  # minutes 7..13 are in (observed - 420, observed]: 0+1+...+6
    m = measure(_spec(prometheus, 'conversions{campaign="spring"}', "sum", 420), tmp_path, store, observed)
    assert (m.value, m.used, m.ignored) == (21, 7, 1)
    assert json.loads(store.get(m.evidence_hash))["data"]["resultType"] == "matrix"


def test_an_instant_query_without_a_window(prometheus, tmp_path):
    m = measure(
        _spec(prometheus, "sum(conversions)", "latest", None), tmp_path, EvidenceStore(tmp_path), START + 60 * 10
    )
    assert m.value == 3 + 1  # spring at minute 10 is 10 % 7, autumn is 1


def test_several_series_are_refused(prometheus, tmp_path):
    with pytest.raises(SourceError, match="returned 2 series, not 1"):
        measure(_spec(prometheus, "conversions", "sum", 600), tmp_path, EvidenceStore(tmp_path), START + 3600)
