"""An agreement through the API from draft to completion on the real escrow: consent by wallet
signatures, funding and settlement by transactions the backend prepares and wallets sign, oracle
pushes, invoices (JSON, HTML, PDF), the audit report and portfolio analytics."""

from __future__ import annotations

import pytest
from eth_account import Account
from factories import DAY, agreement_body, wallet_send

from attestpay import typed_data
from attestpay.terms import Attestation
from backend_support import Api


@pytest.fixture
def api(chain, database_url) -> Api:
    return Api(chain, database_url)


def consented(api: Api, body: dict) -> tuple[dict, dict, dict]:
    """Creates, proposes and has both parties sign; returns the agreement and both sessions."""
    client, provider = api.sign_in(api.chain.client), api.sign_in(api.chain.provider)
    created = api.client.post("/v1/agreements", json=body, headers=client)
    assert created.status_code == 201, created.text
    pk = created.json()["id"]
    assert api.client.post(f"/v1/agreements/{pk}/propose", headers=provider).json()["status"] == "proposed"
    for party, session in ((api.chain.client, client), (api.chain.provider, provider)):
        data = api.client.get(f"/v1/agreements/{pk}/typed-data", headers=session).json()
        signature = Account.sign_typed_data(party.key, full_message=data["typed_data"]).signature
        response = api.client.post(f"/v1/agreements/{pk}/consents", json={"signature": "0x" + signature.hex()}, headers=session)
        assert response.status_code == 201, response.text
    return response.json(), client, provider


def send_all(api: Api, party, response) -> list[str]:
    assert response.status_code == 200, response.text
    hashes = [wallet_send(api.chain, party, tx) for tx in response.json()["transactions"]]
    for tx_hash in hashes:
        recorded = api.client.post("/v1/transactions", json={"tx_hash": tx_hash}, headers=api.sign_in(party))
        assert recorded.status_code == 201, recorded.text
    return hashes


def push(api: Api, oracle_key: dict, agreement: dict, index: int, value: int, oracles, observed_at=None) -> dict:
    """Each oracle pushes its own signature, as the oracle service does."""
    chain = api.chain
    att = Attestation(
        bytes.fromhex(agreement["agreement_id"][2:]), index, bytes.fromhex(agreement["milestones"][index]["metric_id"][2:]),
        value, observed_at or chain.now(), b"\x11" * 32, chain.now() + DAY,
    )
    digest = typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
    message = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in typed_data.attestation_message(att).items()}
    for oracle in oracles:
        body = {"attestation": message, "digest": "0x" + digest.hex(), "signer": oracle.address,
                "signature": "0x" + typed_data.sign(oracle.key, digest).hex()}
        response = api.client.post("/v1/attestations", json=body, headers=oracle_key)
        assert response.status_code == 200, response.text
    return response.json()


def test_an_ether_agreement_from_draft_to_completed_with_invoices(api):
    chain = api.chain
    body = agreement_body(chain)
    body["milestones"][1] |= {"holdback_bps": 1000, "holdback_period": 10 * DAY}
    agreement, client, provider = consented(api, body)
    assert agreement["status"] == "consented"
    assert [c["role"] for c in agreement["consents"]] == ["client", "provider"]
    pk = agreement["id"]

    fund = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client)
    (tx,) = fund.json()["transactions"]
    assert (tx["value"], tx["chainId"], tx["to"]) == (str(220 * 10**18), chain.chain_id, chain.escrow.address)
    assert tx["gas"] > 21_000
    send_all(api, chain.client, fund)
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "active"
    assert chain.w3.eth.get_balance(chain.escrow.address) == 220 * 10**18

    oracle_key = api.api_key("oracle-node-1", "oracle")
    first = push(api, oracle_key, agreement, 0, 9700, chain.oracles[:1])
    assert (first["complete"], first["meets_target"]) == (False, True)
    pushed = push(api, oracle_key, agreement, 0, 9700, chain.oracles[:2])  # node 0 again: a repeat, harmless
    assert pushed["complete"] and pushed["signers"] == [o.address for o in chain.oracles[:2]]

    provider_before = chain.w3.eth.get_balance(chain.provider.address)
    settle = api.client.post(f"/v1/agreements/{pk}/transactions/settle", json={"index": 0, "attestation": pushed["digest"]}, headers=client)
    send_all(api, chain.client, settle)
    m0 = api.client.get(f"/v1/agreements/{pk}", headers=provider).json()["milestones"][0]
    assert m0["status"] == "settled" and m0["paid_now"] == str(110 * 10**18)  # 97.00% is past the stretch: the full bonus
    assert chain.w3.eth.get_balance(chain.provider.address) - provider_before == int(m0["paid_now"])

    second = push(api, oracle_key, agreement, 1, 9200, chain.oracles[1:3])
    send_all(api, chain.provider, api.client.post(f"/v1/agreements/{pk}/transactions/settle", json={"index": 1, "attestation": second["digest"]}, headers=provider))
    m1 = api.client.get(f"/v1/agreements/{pk}", headers=provider).json()["milestones"][1]
    assert (m1["paid_now"], m1["holdback"], m1["holdback_status"]) == (str(90 * 10**18), str(10 * 10**18), "held")
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "active"

    early = api.client.post(f"/v1/agreements/{pk}/transactions/release-holdback", json={"index": 1}, headers=provider)
    assert early.status_code == 409 and early.json()["error"] == "ContractRejected"
    assert early.json()["revert"]["name"] == "HoldbackNotDue"
    chain.warp(chain.now() + 10 * DAY + 1)
    send_all(api, chain.provider, api.client.post(f"/v1/agreements/{pk}/transactions/release-holdback", json={"index": 1}, headers=provider))
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "completed"

    numbers = api.client.get(f"/v1/agreements/{pk}/invoices", headers=client).json()
    assert len(numbers) == 3  # two settlements, one holdback release
    invoice = api.client.get(f"/v1/invoices/{numbers[1]}", headers=client).json()
    assert invoice["kind"] == "settlement" and invoice["total"] == str(90 * 10**18)
    assert [(line["item"].split(" (")[0], line["amount"], line["effect"]) for line in invoice["lines"]] == [
        ("Base payment", str(100 * 10**18), "add"), ("Holdback retained until the warranty ends", str(10 * 10**18), "deduct"),
    ]
    assert invoice["refund_to_client"] == str(10 * 10**18)  # the unearned bonus
    html = api.client.get(f"/v1/invoices/{numbers[1]}/html", headers=client)
    assert html.headers["content-type"].startswith("text/html") and "90,000,000,000,000,000,000" in html.text
    assert invoice["tx_hash"] in html.text
    pdf = api.client.get(f"/v1/invoices/{numbers[2]}/pdf", headers=provider)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")

    report = api.client.get(f"/v1/agreements/{pk}/audit-report", headers=client).json()
    assert [e["name"] for e in report["events"]] == [
        "AgreementCreated", "AgreementFunded", "MilestoneSettled", "MilestoneSettled", "HoldbackReleased",
    ]
    assert len(report["fundings"]) == 1 and len(report["settlements"]) == 2 and report["invoices"] == numbers
    assert [len(a["signatures"]) for a in report["attestations"]] == [2, 2]
    assert all(a["anchoring"] == {"anchored": False, "revoked": False} for a in report["attestations"])

    portfolio = api.client.get("/v1/reports/portfolio", headers=client).json()
    assert portfolio["milestones_settled"] == 2 and portfolio["completion_rate"] == 1.0
    assert portfolio["on_time_rate"] == 1.0 and portfolio["funds_at_risk"] == {}
