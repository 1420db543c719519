"""Attestation intake: signatures are checked against the agreement's oracle set, a refused push
stores nothing, every verified attestation is kept, and anchoring is recorded once the registry
confirms the proof."""

from __future__ import annotations

import pytest
from factories import agreement_body

from attestpay import typed_data
from oracle.anchoring import AttestationBatch
from oracle.evidence import EvidenceStore
from oracle.registry import anchor, revoke
from oracle.signer import OracleSigner


@pytest.fixture
def proposed(api):
    """A consented (unfunded) agreement: intake needs only its id and oracle set."""
    agreement, client, _ = api.consented(agreement_body(api.chain))
    return agreement, client, api.api_key("oracle-node", "oracle")


def signed(api, agreement: dict, measured: int, oracle, **changes) -> dict:
    message, digest = api.attestation(agreement, 0, measured)
    return {
        "attestation": message | changes,
        "digest": "0x" + digest.hex(),
        "signer": oracle.address,
        "signature": "0x" + typed_data.sign(oracle.key, digest).hex(),
    }


def stored(api, digest: str, headers: dict) -> int:
    return api.client.get(f"/v1/attestations/{digest}", headers=headers).status_code


def test_a_result_that_triggers_nothing_is_kept(api, proposed):
    agreement, client, oracle_key = proposed
    kept = api.push(oracle_key, agreement, 0, 7000, api.chain.oracles[:1])  # below the floor: pays nothing
    assert (kept["value"], kept["meets_target"], kept["complete"]) == ("7000", False, False)
    listed = api.client.get(f"/v1/agreements/{agreement['id']}/attestations", headers=client).json()
    assert [a["digest"] for a in listed] == [kept["digest"]]


def test_attestations_received_in_the_same_second_are_listed_in_the_order_observed(api, proposed, monkeypatch):
    agreement, client, oracle_key = proposed
    monkeypatch.setattr("backend.services.attestations.now", lambda: 1_800_000_000)  # one receipt second
    observed = api.chain.now()
    later = api.push(oracle_key, agreement, 0, 8_600, api.chain.oracles[:1], observed_at=observed)
    earlier = api.push(oracle_key, agreement, 0, 7_000, api.chain.oracles[:1], observed_at=observed - 60)
    listed = api.client.get(f"/v1/agreements/{agreement['id']}/attestations", headers=client).json()
    assert [a["digest"] for a in listed] == [earlier["digest"], later["digest"]]


def test_a_signer_outside_the_oracle_set_is_refused(api, proposed):
    agreement, client, oracle_key = proposed
    body = signed(api, agreement, 9300, api.chain.relayer)
    response = api.client.post("/v1/attestations", json=body, headers=oracle_key)
    assert response.status_code == 403 and "not in the oracle set" in response.json()["detail"]
    assert stored(api, body["digest"], client) == 404


def test_an_altered_attestation_does_not_match_its_signature(api, proposed):
    agreement, client, oracle_key = proposed
    body = signed(api, agreement, 9000, api.chain.oracles[0], value="9300")
    response = api.client.post("/v1/attestations", json=body, headers=oracle_key)
    assert response.status_code == 422 and response.json()["field"] == "digest"
    del body["digest"]
    response = api.client.post("/v1/attestations", json=body, headers=oracle_key)
    assert response.status_code == 422 and response.json()["field"] == "signature"
    assert "is the attestation exactly as signed?" in response.json()["detail"]
    assert api.client.get(f"/v1/agreements/{agreement['id']}/attestations", headers=client).json() == []


def test_one_bad_signature_among_good_ones_stores_nothing(api, proposed):
    agreement, client, oracle_key = proposed
    good, stranger = signed(api, agreement, 9300, api.chain.oracles[0]), signed(api, agreement, 9300, api.chain.relayer)
    body = {
        "attestation": good["attestation"],
        "signatures": [
            {"signer": good["signer"], "signature": good["signature"]},
            {"signer": stranger["signer"], "signature": stranger["signature"]},
        ],
    }
    assert api.client.post("/v1/attestations", json=body, headers=oracle_key).status_code == 403
    assert stored(api, good["digest"], client) == 404
    body["signatures"].pop()
    assert api.client.post("/v1/attestations", json=body, headers=oracle_key).json()["signers"] == [good["signer"]]


def test_intake_names_what_does_not_fit_the_agreement(api, proposed):
    agreement, _, oracle_key = proposed
    oracle = api.chain.oracles[0]
    unknown = signed(api, agreement, 9300, oracle, agreementId="0x" + "ee" * 32)
    del unknown["digest"]
    assert api.client.post("/v1/attestations", json=unknown, headers=oracle_key).status_code == 404
    metric = signed(api, agreement, 9300, oracle, metricId="0x" + "ab" * 32)
    response = api.client.post("/v1/attestations", json=metric, headers=oracle_key)
    assert response.status_code == 422 and response.json()["field"] == "attestation.metricId"
    index = signed(api, agreement, 9300, oracle, milestoneIndex=5)
    response = api.client.post("/v1/attestations", json=index, headers=oracle_key)
    assert response.status_code == 422 and response.json()["field"] == "attestation.milestoneIndex"
    unsigned = {"attestation": metric["attestation"] | {"metricId": agreement["milestones"][0]["metric_id"]}}
    response = api.client.post("/v1/attestations", json=unsigned, headers=oracle_key)
    assert response.status_code == 422 and response.json()["field"] == "signatures"


def test_only_oracle_keys_push(api, proposed):
    agreement, client, _ = proposed
    body = signed(api, agreement, 9300, api.chain.oracles[0])
    assert api.client.post("/v1/attestations", json=body).status_code == 401
    assert api.client.post("/v1/attestations", json=body, headers=client).status_code == 403
    assert api.client.post("/v1/attestations", json=body, headers=api.api_key("auditor", "auditor")).status_code == 403
    assert stored(api, body["digest"], client) == 404


def test_anchoring_is_kept_once_the_registry_confirms_it_and_revocation_shows(api, proposed, tmp_path):
    agreement, client, oracle_key = proposed
    chain = api.chain
    pushed = api.push(oracle_key, agreement, 0, 9300, chain.oracles[:2])
    digest = bytes.fromhex(pushed["digest"][2:])
    signer = OracleSigner.from_dev_key(chain.oracles[0].key, dev_mode=True)
    batch = AttestationBatch.of([digest, b"\x05" * 32, b"\x06" * 32])
    proof = ["0x" + p.hex() for p in batch.proof(digest)]
    root = "0x" + batch.root.hex()

    early = api.client.post(
        f"/v1/attestations/{pushed['digest']}/anchoring", json={"root": root, "proof": proof}, headers=oracle_key
    )
    assert early.status_code == 422 and early.json()["field"] == "proof"  # not anchored yet
    anchor(chain.w3, chain.registry, signer, batch, EvidenceStore(tmp_path))
    wrong = api.client.post(
        f"/v1/attestations/{pushed['digest']}/anchoring", json={"root": root, "proof": proof[1:]}, headers=oracle_key
    )
    assert wrong.status_code == 422
    ok = api.client.post(
        f"/v1/attestations/{pushed['digest']}/anchoring", json={"root": root, "proof": proof}, headers=oracle_key
    )
    assert ok.status_code == 200, ok.text
    missing = api.client.post(
        f"/v1/attestations/0x{'12' * 32}/anchoring", json={"root": root, "proof": proof}, headers=oracle_key
    )
    assert missing.status_code == 404

    (entry,) = api.client.get(f"/v1/agreements/{agreement['id']}/audit-report", headers=client).json()["attestations"]
    assert entry["anchoring"]["anchored"] and entry["anchoring"]["root"] == root
    assert (entry["anchoring"]["batch_size"], entry["anchoring"]["anchorer"], entry["anchoring"]["revoked"]) == (
        3,
        signer.address,
        False,
    )
    revoke(chain.w3, chain.escrow, signer, digest)
    (entry,) = api.client.get(f"/v1/agreements/{agreement['id']}/audit-report", headers=client).json()["attestations"]
    assert entry["anchoring"]["revoked"] is True
