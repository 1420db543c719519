"""Wallet transactions the backend prepares, signed and sent by the parties' own keys against the
real escrow: ERC-20 funding, registering before funding, partial results, client approval,
disputes and their splits, reclaims, cancellation, withdrawal, and refusals decoded to the escrow's
custom errors."""

from __future__ import annotations

from eth_account import Account
from factories import DAY, agreement_body


def erc20_balance(chain, address: str) -> int:
    return chain.token.functions.balanceOf(address).call()


def test_erc20_funding_is_an_approval_then_register_and_fund(api):
    chain = api.chain
    chain.token.functions.approve(chain.escrow.address, 0).transact({"from": chain.client.address})
    agreement, client, _ = api.consented(agreement_body(chain, token=chain.token.address))
    pk = agreement["id"]

    approve, fund = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client).json()["transactions"]
    assert approve["to"] == chain.token.address and approve["gas"] > 21_000
    assert fund["to"] == chain.escrow.address and fund["value"] == "0"
    assert fund["gas"] is None  # cannot be estimated before the approval is mined; the wallet estimates it
    assert "register and fund" in fund["description"]

    escrow_before = erc20_balance(chain, chain.escrow.address)
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    assert erc20_balance(chain, chain.escrow.address) - escrow_before == 220 * 10**18
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "active"

    again = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client)
    assert again.status_code == 409 and "only a consented agreement is funded" in again.json()["detail"]


def test_with_the_allowance_in_place_funding_is_one_estimated_transaction(api):
    chain = api.chain
    agreement, client, _ = api.consented(agreement_body(chain, token=chain.token.address))
    (fund,) = api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client).json()[
        "transactions"
    ]
    assert fund["to"] == chain.escrow.address and fund["gas"] > 21_000


def test_the_provider_registers_and_the_client_funds_later(api):
    chain = api.chain
    agreement, client, provider = api.consented(agreement_body(chain))
    pk = agreement["id"]
    assert (
        api.client.post(f"/v1/agreements/{pk}/transactions/create", headers=client).json()["transactions"][0]["gas"] > 0
    )
    api.send_all(chain.provider, api.client.post(f"/v1/agreements/{pk}/transactions/create", headers=provider))
    stored = chain.escrow.functions.agreement(bytes.fromhex(agreement["agreement_id"][2:])).call()
    assert stored[0] != b"\x00" * 32  # the escrow knows the terms hash now

    (fund,) = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client).json()["transactions"]
    assert fund["description"].startswith("fund the escrow") and fund["value"] == str(220 * 10**18)
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    assert api.client.get(f"/v1/agreements/{pk}", headers=provider).json()["status"] == "active"

    twice = api.client.post(f"/v1/agreements/{pk}/transactions/create", headers=provider)
    assert twice.status_code == 409 and twice.json()["revert"]["name"] == "AgreementExists"


def funded(api, body: dict) -> tuple[dict, dict, dict]:
    agreement, client, provider = api.consented(body)
    api.send_all(
        api.chain.client, api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client)
    )
    return agreement, client, provider


def test_a_partial_result_is_settled_only_when_the_provider_accepts_it(api):
    chain = api.chain
    agreement, client, provider = funded(api, agreement_body(chain))
    pk, oracle = agreement["id"], api.api_key("oracle-node", "oracle")
    below = api.push(oracle, agreement, 0, 8600, chain.oracles[:2])
    assert below["complete"] and not below["meets_target"]
    request = {"index": 0, "attestation": below["digest"]}

    refused = api.client.post(f"/v1/agreements/{pk}/transactions/settle", json=request, headers=client)
    assert refused.status_code == 409 and "only the provider can accept it" in refused.json()["detail"]
    not_yours = api.client.post(f"/v1/agreements/{pk}/transactions/accept-partial", json=request, headers=client)
    assert not_yours.status_code == 403

    preview = api.client.get(
        f"/v1/agreements/{pk}/milestones/0/preview",
        params={"value": 8600, "observed_at": below["observed_at"]},
        headers=client,
    )
    api.send_all(
        chain.provider,
        api.client.post(f"/v1/agreements/{pk}/transactions/accept-partial", json=request, headers=provider),
    )
    m0 = api.client.get(f"/v1/agreements/{pk}", headers=client).json()["milestones"][0]
    # Halfway from floor (80%) to target (92%): 50% + 25% of the amount; the rest and the bonus go back.
    assert (m0["status"], m0["paid_now"], m0["refund"]) == ("settled", str(75 * 10**18), str(35 * 10**18))
    assert (preview.json()["paid_now"], preview.json()["refund"]) == (m0["paid_now"], m0["refund"])

    met = api.push(oracle, agreement, 1, 9300, chain.oracles[:2])
    pointless = api.client.post(
        f"/v1/agreements/{pk}/transactions/accept-partial",
        json={"index": 1, "attestation": met["digest"]},
        headers=provider,
    )
    assert pointless.status_code == 409 and "meets the target" in pointless.json()["detail"]


def test_settling_needs_enough_signatures_and_the_right_milestone(api):
    chain = api.chain
    agreement, client, _ = funded(api, agreement_body(chain))
    pk, oracle = agreement["id"], api.api_key("oracle-node", "oracle")
    one = api.push(oracle, agreement, 0, 9300, chain.oracles[:1])
    short = api.client.post(
        f"/v1/agreements/{pk}/transactions/settle", json={"index": 0, "attestation": one["digest"]}, headers=client
    )
    assert short.status_code == 409 and "1 of 2 signatures" in short.json()["detail"]
    wrong = api.client.post(
        f"/v1/agreements/{pk}/transactions/settle", json={"index": 1, "attestation": one["digest"]}, headers=client
    )
    assert wrong.status_code == 404
    out_of_range = api.client.post(
        f"/v1/agreements/{pk}/transactions/settle", json={"index": 7, "attestation": one["digest"]}, headers=client
    )
    assert out_of_range.status_code == 422 and out_of_range.json()["field"] == "index"


def test_an_acceptance_milestone_is_approved_by_the_client_then_settled(api):
    chain = api.chain
    body = agreement_body(chain)
    body["milestones"][0]["requires_client_approval"] = True
    agreement, client, provider = funded(api, body)
    pk, oracle = agreement["id"], api.api_key("oracle-node", "oracle")
    met = api.push(oracle, agreement, 0, 9300, chain.oracles[:2])
    early = api.client.post(
        f"/v1/agreements/{pk}/transactions/settle", json={"index": 0, "attestation": met["digest"]}, headers=provider
    )
    assert early.status_code == 409 and early.json()["revert"] == {"name": "ClientApprovalMissing", "args": ["0"]}

    assert (
        api.client.post(f"/v1/agreements/{pk}/transactions/approve", json={"index": 0}, headers=provider).status_code
        == 403
    )
    api.send_all(
        chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/approve", json={"index": 0}, headers=client)
    )
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["milestones"][0]["client_approved"] is True
    api.settle(chain.provider, provider, pk, 0, met["digest"])
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["milestones"][0]["status"] == "settled"


def test_a_missed_milestone_is_reclaimed_after_the_cure_window_and_not_before(api):
    chain = api.chain
    agreement, client, provider = funded(api, agreement_body(chain))
    pk = agreement["id"]
    deadline = agreement["milestones"][0]["deadline"]
    early = api.client.post(f"/v1/agreements/{pk}/transactions/reclaim", json={"index": 0}, headers=client)
    assert early.status_code == 409
    assert early.json()["revert"] == {"name": "ReclaimTooEarly", "args": [str(deadline + 7 * DAY)]}
    assert f"ReclaimTooEarly({deadline + 7 * DAY})" in early.json()["detail"]
    assert (
        api.client.post(f"/v1/agreements/{pk}/transactions/reclaim", json={"index": 0}, headers=provider).status_code
        == 403
    )

    chain.warp(deadline + 7 * DAY + 1)
    client_before = chain.w3.eth.get_balance(chain.client.address)
    api.send_all(
        chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/reclaim", json={"index": 0}, headers=client)
    )
    assert chain.w3.eth.get_balance(chain.client.address) - client_before > 109 * 10**18  # 110 back, less gas
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["milestones"][0]["status"] == "reclaimed"


def test_a_dispute_freezes_the_milestone(api):
    chain = api.chain
    agreement, client, provider = funded(api, agreement_body(chain))
    pk, oracle = agreement["id"], api.api_key("oracle-node", "oracle")
    api.send_all(
        chain.provider,
        api.client.post(f"/v1/agreements/{pk}/transactions/dispute", json={"index": 0}, headers=provider),
    )
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["milestones"][0]["status"] == "disputed"
    met = api.push(oracle, agreement, 0, 9300, chain.oracles[:2])
    frozen = api.client.post(
        f"/v1/agreements/{pk}/transactions/settle", json={"index": 0, "attestation": met["digest"]}, headers=provider
    )
    assert frozen.status_code == 409 and frozen.json()["revert"]["name"] == "WrongMilestoneStatus"
    arbiter = api.sign_in(chain.arbiter)
    assert (
        api.client.post(f"/v1/agreements/{pk}/transactions/dispute", json={"index": 1}, headers=arbiter).status_code
        == 403
    )


def test_the_arbiter_splits_a_dispute_and_a_party_splits_one_with_the_others_signed_split(api):
    chain = api.chain
    agreement, client, provider = funded(api, agreement_body(chain))
    pk = agreement["id"]
    for index, opener in ((0, (chain.client, client)), (1, (chain.provider, provider))):
        api.send_all(
            opener[0],
            api.client.post(f"/v1/agreements/{pk}/transactions/dispute", json={"index": index}, headers=opener[1]),
        )
    alone = api.client.post(
        f"/v1/agreements/{pk}/transactions/resolve-dispute",
        json={"index": 0, "provider_share_bps": 6000},
        headers=provider,
    )
    assert alone.status_code == 409 and "DisputeSplit signature is needed" in alone.json()["detail"]

    before = chain.w3.eth.get_balance(chain.provider.address)
    arbiter = api.sign_in(chain.arbiter)
    split = api.client.post(
        f"/v1/agreements/{pk}/transactions/resolve-dispute",
        json={"index": 0, "provider_share_bps": 6000},
        headers=arbiter,
    )
    api.send_all(chain.arbiter, split)
    assert chain.w3.eth.get_balance(chain.provider.address) - before == 66 * 10**18  # 60% of 100 + 10 bonus

    url = f"/v1/agreements/{pk}/dispute-split"
    data = api.client.get(url, params={"index": 1, "provider_share_bps": 2500}, headers=client).json()
    signed = "0x" + Account.sign_typed_data(chain.client.key, full_message=data["typed_data"]).signature.hex()
    other = api.client.get(url, params={"index": 1, "provider_share_bps": 9000}, headers=client).json()
    not_agreed = "0x" + Account.sign_typed_data(chain.client.key, full_message=other["typed_data"]).signature.hex()
    body = {"index": 1, "provider_share_bps": 2500}
    refused = api.client.post(
        f"/v1/agreements/{pk}/transactions/resolve-dispute",
        json=body | {"counterparty_signature": not_agreed},
        headers=provider,
    )
    # the party-signature rule refuses it before the escrow would (InvalidPartySignature)
    assert refused.status_code == 422 and f"must be signed by {chain.client.address}" in refused.json()["detail"]
    before = chain.w3.eth.get_balance(chain.escrow.address)
    api.send_all(
        chain.provider,
        api.client.post(
            f"/v1/agreements/{pk}/transactions/resolve-dispute",
            json=body | {"counterparty_signature": signed},
            headers=provider,
        ),
    )
    assert (
        before - chain.w3.eth.get_balance(chain.escrow.address) == 110 * 10**18
    )  # 27.5 to the provider, 82.5 to the client

    state = api.client.get(f"/v1/agreements/{pk}", headers=client).json()
    assert [m["status"] for m in state["milestones"]] == ["resolved", "resolved"] and state["status"] == "completed"
    invoices = [
        api.client.get(f"/v1/invoices/{n}", headers=client).json()
        for n in api.client.get(f"/v1/agreements/{pk}/invoices", headers=client).json()
    ]
    assert [(i["kind"], i["total"]) for i in invoices] == [
        ("dispute", str(66 * 10**18)),
        ("dispute", str(275 * 10**17)),
    ]
    assert "60.00% to the provider" in api.client.get(f"/v1/invoices/{invoices[0]['number']}/html", headers=client).text
    assert api.client.get(f"/v1/invoices/{invoices[1]['number']}/pdf", headers=provider).content.startswith(b"%PDF")


def test_an_unfunded_agreement_is_cancelled_on_the_escrow(api):
    chain = api.chain
    agreement, client, provider = api.consented(agreement_body(chain))
    pk = agreement["id"]
    api.send_all(chain.provider, api.client.post(f"/v1/agreements/{pk}/transactions/create", headers=provider))
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/cancel", headers=client))
    assert api.client.get(f"/v1/agreements/{pk}", headers=provider).json()["status"] == "cancelled"
    refused = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client)
    assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]


def test_withdrawing_without_a_credit_is_refused_with_the_reason(api):
    chain = api.chain
    provider = api.sign_in(chain.provider)
    refused = api.client.post("/v1/transactions/withdraw", json={}, headers=provider)
    assert refused.status_code == 409
    assert refused.json()["revert"] == {"name": "NothingToWithdraw", "args": ["0x" + "0" * 40, chain.provider.address]}


def test_a_transaction_not_sent_to_the_escrow_is_not_recorded(api):
    chain = api.chain
    tx_hash = chain.token.functions.approve(chain.escrow.address, 1).transact({"from": chain.client.address})
    response = api.client.post(
        "/v1/transactions", json={"tx_hash": "0x" + bytes(tx_hash).hex()}, headers=api.sign_in(chain.client)
    )
    assert response.status_code == 422 and response.json()["field"] == "tx_hash"
    unknown = api.client.post("/v1/transactions", json={"tx_hash": "0x" + "ab" * 32}, headers=api.sign_in(chain.client))
    assert unknown.status_code == 404
