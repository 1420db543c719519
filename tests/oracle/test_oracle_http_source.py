"""The HTTP JSON source against a real HTTP server started by the test: values, retries with
backoff, clear failures, bearer tokens from the environment."""

from __future__ import annotations

import json
import socket

import pytest
from factories import conversions_spec

from attestpay.local_http import LocalServer, QuietHandler
from oracle.errors import SourceError
from oracle.evidence import EvidenceStore
from oracle.measure import measure
from oracle.sources import fetch

CONVERSIONS = {"data": {"series": [{"day": 86400, "conversions": 120}, {"day": 172800, "conversions": 135}]}}


class Endpoint(LocalServer):
    """A metrics endpoint that fails `failures` times with `status`, then serves `body`."""

    def __init__(self, body: bytes, failures: int = 0, status: int = 503, token: str | None = None) -> None:
        self.body, self.failures, self.status, self.token, self.requests = body, failures, status, token, 0
        endpoint = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                endpoint.requests += 1
                if endpoint.token and self.headers.get("Authorization") != f"Bearer {endpoint.token}":
                    return self._reply(401, b"{}")
                if endpoint.failures > 0:
                    endpoint.failures -= 1
                    return self._reply(endpoint.status, b"{}")
                return self._reply(200, endpoint.body)

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler, "/metrics")


@pytest.fixture
def endpoint():
    servers = []

    def start(**kwargs) -> Endpoint:
        servers.append(Endpoint(json.dumps(CONVERSIONS).encode(), **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _spec(url: str, **source):
    return conversions_spec(
        {
            "kind": "http_json",
            "url": url,
            "records_field": "data.series",
            "value_field": "conversions",
            "time_field": "day",
            **source,
        }
    )


FAST = (0.01, 0.01, 0.01)


def test_values_and_evidence_come_from_the_endpoint(endpoint, tmp_path):
    server = endpoint()
    store = EvidenceStore(tmp_path)
    m = measure(_spec(server.url), tmp_path, store, observed_at=200000)
    assert (m.value, m.used) == (255, 2)
    assert json.loads(store.get(m.evidence_hash)) == CONVERSIONS


def test_a_failing_endpoint_is_retried_until_it_answers(endpoint, tmp_path):
    server = endpoint(failures=2)
    assert json.loads(fetch(_spec(server.url).source, tmp_path, 0, retry_delays=FAST)) == CONVERSIONS
    assert server.requests == 3


def test_a_persistently_failing_endpoint_fails_clearly(endpoint, tmp_path):
    server = endpoint(failures=10)
    with pytest.raises(SourceError, match="failed after 4 attempts: HTTP 503"):
        fetch(_spec(server.url).source, tmp_path, 0, retry_delays=FAST)


def test_a_client_error_is_not_retried(endpoint, tmp_path):
    server = endpoint(failures=10, status=404)
    with pytest.raises(SourceError, match="failed after 1 attempts: HTTP 404"):
        fetch(_spec(server.url).source, tmp_path, 0, retry_delays=FAST)


def test_an_unreachable_endpoint_fails_clearly(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError, match="failed after 4 attempts: ConnectionError"):
        fetch(_spec(f"http://127.0.0.1:{port}/metrics").source, tmp_path, 0, retry_delays=FAST)


def test_the_bearer_token_comes_from_the_environment(endpoint, tmp_path, monkeypatch):
    server = endpoint(token="s3cret")
    spec = _spec(server.url, token_env="SOURCE_METRICS_TOKEN")
    with pytest.raises(SourceError, match="set SOURCE_METRICS_TOKEN"):
        fetch(spec.source, tmp_path, 0, retry_delays=FAST)
    monkeypatch.setenv("SOURCE_METRICS_TOKEN", "s3cret")
    assert json.loads(fetch(spec.source, tmp_path, 0, retry_delays=FAST)) == CONVERSIONS
    assert "s3cret" not in spec.canonical().decode()
