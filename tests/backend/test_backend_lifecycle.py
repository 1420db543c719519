"""An agreement through the API from draft to completion on the real escrow: consent by wallet
signatures, funding and settlement by transactions the backend prepares and wallets sign, oracle
pushes, invoices (JSON, HTML, PDF), the audit report and portfolio analytics."""

from __future__ import annotations

from factories import DAY, agreement_body


def test_an_ether_agreement_from_draft_to_completed_with_invoices(api):
    chain = api.chain
    body = agreement_body(chain)
    body["milestones"][1] |= {"holdback_bps": 1000, "holdback_period": 10 * DAY}
    agreement, client, provider = api.consented(body)
    assert agreement["status"] == "consented"
    assert [c["role"] for c in agreement["consents"]] == ["client", "provider"]
    pk = agreement["id"]

    fund = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client)
    (tx,) = fund.json()["transactions"]
    assert (tx["value"], tx["chainId"], tx["to"]) == (str(220 * 10**18), chain.chain_id, chain.escrow.address)
    assert tx["gas"] > 21_000
    api.send_all(chain.client, fund)
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "active"
    assert chain.w3.eth.get_balance(chain.escrow.address) == 220 * 10**18

    oracle_key = api.api_key("oracle-node-1", "oracle")
    first = api.push(oracle_key, agreement, 0, 9700, chain.oracles[:1])
    assert (first["complete"], first["meets_target"]) == (False, True)
    pushed = api.push(oracle_key, agreement, 0, 9700, chain.oracles[:2])  # node 0 again: a repeat, harmless
    assert pushed["complete"] and pushed["signers"] == [o.address for o in chain.oracles[:2]]

    provider_before = chain.w3.eth.get_balance(chain.provider.address)
    api.settle(chain.client, client, pk, 0, pushed["digest"])
    m0 = api.client.get(f"/v1/agreements/{pk}", headers=provider).json()["milestones"][0]
    assert m0["status"] == "settled" and m0["paid_now"] == str(
        110 * 10**18
    )  # 97.00% is past the stretch: the full bonus
    assert chain.w3.eth.get_balance(chain.provider.address) - provider_before == int(m0["paid_now"])

    second = api.push(oracle_key, agreement, 1, 9200, chain.oracles[1:3])
    api.settle(chain.provider, provider, pk, 1, second["digest"])
    m1 = api.client.get(f"/v1/agreements/{pk}", headers=provider).json()["milestones"][1]
    assert (m1["paid_now"], m1["holdback"], m1["holdback_status"]) == (str(90 * 10**18), str(10 * 10**18), "held")
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "active"

    early = api.client.post(f"/v1/agreements/{pk}/transactions/release-holdback", json={"index": 1}, headers=provider)
    assert early.status_code == 409 and early.json()["error"] == "ContractRejected"
    assert early.json()["revert"]["name"] == "HoldbackNotDue"
    chain.warp(chain.now() + 10 * DAY + 1)
    api.send_all(
        chain.provider,
        api.client.post(f"/v1/agreements/{pk}/transactions/release-holdback", json={"index": 1}, headers=provider),
    )
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "completed"

    numbers = api.client.get(f"/v1/agreements/{pk}/invoices", headers=client).json()
    assert len(numbers) == 3  # two settlements, one holdback release
    invoice = api.client.get(f"/v1/invoices/{numbers[1]}", headers=client).json()
    assert invoice["kind"] == "settlement" and invoice["total"] == str(90 * 10**18)
    assert (invoice["total_display"], invoice["lines"][0]["amount_display"], invoice["token_symbol"]) == (
        "90 ETH",
        "100 ETH",
        "ETH",
    )
    assert invoice["milestone_number"] == invoice["milestone_index"] + 1
    assert [(line["item"].split(" (")[0], line["amount"], line["effect"]) for line in invoice["lines"]] == [
        ("Base payment", str(100 * 10**18), "add"),
        ("Holdback retained until the warranty ends", str(10 * 10**18), "deduct"),
    ]
    assert invoice["refund_to_client"] == str(10 * 10**18)  # the unearned bonus
    html = api.client.get(f"/v1/invoices/{numbers[1]}/html", headers=client)
    assert (
        html.headers["content-type"].startswith("text/html") and "90 ETH" in html.text and "Amount (ETH)" in html.text
    )
    assert invoice["tx_hash"] in html.text
    pdf = api.client.get(f"/v1/invoices/{numbers[2]}/pdf", headers=provider)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")

    report = api.client.get(f"/v1/agreements/{pk}/audit-report", headers=client).json()
    assert [e["name"] for e in report["events"]] == [
        "AgreementCreated",
        "AgreementFunded",
        "MilestoneSettled",
        "MilestoneSettled",
        "HoldbackReleased",
    ]
    assert len(report["fundings"]) == 1 and len(report["settlements"]) == 2 and report["invoices"] == numbers
    assert [len(a["signatures"]) for a in report["attestations"]] == [2, 2]
    assert all(
        a["anchoring"] == {"anchored": False, "revoked": False, "revoked_by": []} for a in report["attestations"]
    )

    portfolio = api.client.get("/v1/reports/portfolio", headers=client).json()
    assert portfolio["milestones_settled"] == 2 and portfolio["completion_rate"] == 1.0
    assert portfolio["on_time_rate"] == 1.0 and portfolio["funds_at_risk"] == {}


def test_the_audit_endpoint_reverifies_the_payouts_from_the_chain(api):
    chain = api.chain
    agreement, client, provider = api.consented(agreement_body(chain, milestones=1))
    pk = agreement["id"]
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    pushed = api.push(api.api_key("oracle-node", "oracle"), agreement, 0, 9400, chain.oracles[:2])
    api.settle(chain.provider, provider, pk, 0, pushed["digest"])

    assert api.client.get("/v1/reports/audit", headers=client).status_code == 403
    auditor_key = api.api_key("auditor-1", "auditor")
    report = api.client.get("/v1/reports/audit", headers=auditor_key).json()
    assert report["passed"] and report["settlementsVerified"] == 1
    (mine,) = [a for a in report["agreements"] if a["agreementId"] == agreement["agreement_id"]]
    assert mine["passed"] and "anchoring not checked" in mine["notes"][0]  # no evidence store configured
    assert "Every payout checks out." in api.client.get("/v1/reports/audit/html", headers=auditor_key).text
