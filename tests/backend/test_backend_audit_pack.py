"""The audit pack through the API: read by the agreement's parties and auditors only, and refused with
the reason when it cannot be built (no evidence store, an agreement not on chain, a settlement whose
attestation was never anchored). A whole pack verifying is the demo's test (tests/e2e/test_demo.py)."""

from __future__ import annotations

from factories import agreement_body


def test_an_audit_pack_is_for_the_parties_and_auditors_and_says_why_it_cannot_be_built(chain, database_url, tmp_path):
    from backend_support import Api

    api = Api(chain, database_url, evidence_dir=tmp_path / "evidence")
    agreement, client, provider = api.consented(agreement_body(chain, milestones=1))
    pk = agreement["id"]
    path = f"/v1/agreements/{pk}/audit-pack"
    assert api.client.get(path, headers=api.sign_in(chain.relayer)).status_code == 403
    oracle = api.api_key("node", "oracle")
    assert api.client.get(path, headers=oracle).status_code == 403
    not_yet = api.client.get(path, headers=api.api_key("auditor-1", "auditor"))
    assert not_yet.status_code == 409 and f"no agreement {agreement['agreement_id']}" in not_yet.json()["detail"]

    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    pushed = api.push(oracle, agreement, 0, 9700, chain.oracles[:2])
    api.settle(chain.client, client, pk, 0, pushed["digest"])
    unpublished = api.client.get(path, headers=provider)
    assert unpublished.status_code == 409 and "evidence" in unpublished.json()["detail"]

    without_store = Api(chain, database_url)
    refused = without_store.client.get(path, headers=without_store.sign_in(chain.client))
    assert refused.status_code == 409 and "ATTESTPAY_EVIDENCE_DIR" in refused.json()["detail"]
