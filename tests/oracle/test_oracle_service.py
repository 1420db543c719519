"""The oracle node's HTTP service: API key, measure and sign (nodes asked at one time sign one attestation),
push to the backend, proofs; signatures from two services settle on the real escrow."""

from __future__ import annotations

import json

import pytest
from factories import ORACLE_NODE_KEY, create_and_fund, milestone, oracle_node_app, send, terms
from fastapi.testclient import TestClient

from attestpay import settlement, typed_data
from attestpay.devstack import MODEL_ACCURACY_SPEC
from attestpay.local_http import LocalServer, QuietHandler
from attestpay.terms import Attestation
from oracle.errors import OracleError
from oracle.service import BackendPush, create_app
from oracle.spec import MetricSpec

KEY = ORACLE_NODE_KEY
SPEC = MODEL_ACCURACY_SPEC


class Backend(LocalServer):
    """A stand-in for the backend's attestation intake that records what it receives."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        backend = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                backend.received.append(
                    {"key": self.headers.get("X-API-Key"), "path": self.path, "body": json.loads(body)}
                )
                self.send_response(202)
                self.end_headers()

        super().__init__(Handler)


def _client(chain, tmp_path, index: int, correct: int, backend: Backend | None = None) -> TestClient:
    push = BackendPush(backend.url, "backend-key", retry_delays=()) if backend else None
    return TestClient(oracle_node_app(chain, tmp_path, index, correct, push))


def _headers(key: str = KEY) -> dict:
    return {"X-API-Key": key}


def test_two_services_sign_what_they_measured_and_the_escrow_settles_it(chain, tmp_path):
    backend = Backend()
    spec = MetricSpec.model_validate(SPEC)
    ms = [milestone(chain, metric_id=spec.metric_id)]
    agreement = terms(chain, chain.token.address, ms, threshold=2)
    agreement_id = create_and_fund(chain, agreement, ms)
    a, b, c = (_client(chain, tmp_path, i, correct, backend) for i, correct in enumerate((93, 93, 90)))

    request = {
        "agreement_id": "0x" + agreement_id.hex(),
        "milestone_index": 0,
        "spec": SPEC,
        "observed_at": chain.now(),
    }
    proposed = a.post("/v1/measurements", json=request, headers=_headers())
    assert proposed.status_code == 200, proposed.text
    first = proposed.json()
    assert first["attestation"]["value"] == 9300 and first["pushError"] is None
    assert (first["used"], first["ignored"]) == (100, 0)
    pushed = {k: v for k, v in first.items() if k not in ("pushError", "used", "ignored")}
    assert backend.received[0] == {"key": "backend-key", "path": "/v1/attestations", "body": pushed}

    att = first["attestation"]
    second = b.post("/v1/measurements", json=request, headers=_headers()).json()
    other = c.post("/v1/measurements", json=request, headers=_headers()).json()
    assert second["digest"] == first["digest"]  # same time, same evidence: the same attestation
    assert (other["attestation"]["value"], other["digest"] != first["digest"]) == (9000, True)

    signatures = typed_data.pack_signatures([(s["signer"], bytes.fromhex(s["signature"][2:])) for s in (first, second)])
    attestation = Attestation(
        agreement_id,
        0,
        spec.metric_id,
        9300,
        att["observedAt"],
        bytes.fromhex(att["evidenceHash"][2:]),
        att["expiresAt"],
    )
    send(
        chain,
        chain.escrow.functions.settleMilestonePacked(
            settlement.pack(agreement, ms[0], typed_data.milestone_proof(ms, 0), attestation, signatures)
        ),
        chain.relayer.address,
    )
    assert chain.escrow.functions.milestoneStatus(agreement_id, 0).call() == 2


def test_requests_need_the_api_key_and_bad_input_gets_a_reason(chain, tmp_path):
    client = _client(chain, tmp_path, 0, 93)
    body = {"agreement_id": "0x" + "ab" * 32, "milestone_index": 0, "spec": SPEC}
    assert client.post("/v1/measurements", json=body).status_code == 401
    assert client.post("/v1/measurements", json=body, headers=_headers("wrong-key-0123456789")).status_code == 401
    bad = client.post("/v1/measurements", json=body | {"spec": SPEC | {"decimals": -1}}, headers=_headers())
    assert bad.status_code == 422 and "decimals" in bad.text
    missing = client.post(
        "/v1/measurements",
        json=body | {"spec": SPEC | {"source": SPEC["source"] | {"path": "nope.jsonl"}}},
        headers=_headers(),
    )
    assert missing.status_code == 503 and "cannot read" in missing.json()["detail"]
    unknown = client.get("/v1/proofs/0x" + "11" * 32, headers=_headers())
    assert unknown.status_code == 404 and "not anchored yet" in unknown.json()["detail"]
    assert client.get("/healthz").json()["signer"] == chain.oracles[0].address


def test_a_failed_push_is_reported_and_the_signature_kept(chain, tmp_path):
    backend = Backend()
    backend.close()
    client = _client(chain, tmp_path, 0, 93, backend)
    body = {"agreement_id": "0x" + "ab" * 32, "milestone_index": 0, "spec": SPEC}
    signed = client.post("/v1/measurements", json=body, headers=_headers()).json()
    assert signed["signature"] and "push to" in signed["pushError"]


def test_a_short_api_key_is_refused(chain, tmp_path):
    with pytest.raises(OracleError, match="at least 16"):
        create_app(None, None, "short")
