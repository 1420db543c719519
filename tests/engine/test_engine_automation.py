"""The chain engine on the embedded chain and both databases: milestones settle and holdbacks
release without anyone's click, from the relayer's own key; a partial result settles on the
provider's signed acceptance; parties hear of each change by signed webhook; and the database
rebuilt from the chain's events alone equals the one the engine kept live."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from backend_support import Api
from engine_support import WebhookReceiver, chain_derived, engine_settings, relayer_keystore, turn_until, worker_for
from eth_account import Account
from factories import DAY, agreement_body
from sqlalchemy import select, update

from backend.db.models import MilestoneRecord, RelayIntent, RelayNonce, WebhookDelivery
from backend.engine.deliveries import signature

SETTLED = 2  # MilestoneStatus.Settled


@pytest.fixture
def relayer(tmp_path, chain):
    path, address = relayer_keystore(tmp_path)
    chain.w3.eth.send_transaction({"from": chain.w3.eth.accounts[0], "to": address, "value": 10**19})
    return path, address


def funded(api, body):
    agreement, client, provider = api.consented(body)
    api.send_all(
        api.chain.client, api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client)
    )
    return agreement, client, provider


def milestone_rows(api, pk):
    with api.app.state.sessions() as session:
        return [
            (m.status, m.paid_now, m.holdback, m.holdback_status)
            for m in session.scalars(
                select(MilestoneRecord).where(MilestoneRecord.agreement_pk == pk).order_by(MilestoneRecord.index)
            )
        ]


def test_settlement_and_holdback_release_need_no_click_and_every_party_hears_of_them(api, relayer):
    chain = api.chain
    body = agreement_body(chain)
    body["milestones"][1] |= {"holdback_bps": 1000, "holdback_period": 10 * DAY}
    receiver = WebhookReceiver()
    try:
        provider_session = api.sign_in(chain.provider)
        hook = api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=provider_session).json()
        agreement, client, provider = funded(api, body)
        pk = agreement["id"]
        worker = worker_for(api, **engine_settings(relayer[0]))
        oracle_key = api.api_key("oracle-node", "oracle")
        api.push(oracle_key, agreement, 0, 9700, chain.oracles[:2])
        api.push(oracle_key, agreement, 1, 9300, chain.oracles[1:3])
        api.push(oracle_key, agreement, 1, 9000, chain.oracles[:2])  # below target: waits for the provider

        turn_until(
            worker, lambda: milestone_rows(api, pk)[0][0] == "settled" and milestone_rows(api, pk)[1][0] == "settled"
        )
        rows = milestone_rows(api, pk)
        assert rows[0] == ("settled", 110 * 10**18, 0, None)
        assert rows[1] == ("settled", 9225 * 10**16, 1025 * 10**16, "held")  # 100 + 2.5 bonus (93.00%), 10% held back
        assert chain.escrow.functions.milestoneStatus(bytes.fromhex(agreement["agreement_id"][2:]), 1).call() == SETTLED

        chain.warp(chain.now() + 10 * DAY + 1)
        chain.w3.eth.send_transaction(
            {"from": chain.w3.eth.accounts[0], "to": chain.w3.eth.accounts[0], "value": 0}
        )  # a block at the new time
        turn_until(worker, lambda: milestone_rows(api, pk)[1][3] == "released")
        assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "completed"

        intents = api.client.get(f"/v1/agreements/{pk}/intents", headers=client).json()
        assert sorted((i["kind"], i["milestone_index"], i["status"]) for i in intents) == [
            ("release_holdback", 1, "confirmed"),
            ("settle", 0, "confirmed"),
            ("settle", 1, "confirmed"),
        ]
        assert sorted(i["nonce"] for i in intents) == [0, 1, 2]  # the relayer's nonces, no gap
        assert chain.w3.eth.get_transaction_count(relayer[1]) == 3
        for _ in range(5):  # nothing is sent twice, however often the worker looks again
            worker.turn()
        assert chain.w3.eth.get_transaction_count(relayer[1]) == 3
        assert len(api.client.get(f"/v1/agreements/{pk}/invoices", headers=client).json()) == 3

        turn_until(worker, lambda: sum(b'"event":"HoldbackReleased"' in body for _, body in receiver.received) == 1)
        events = []
        for headers, raw in receiver.received:
            stamp, mac = (part.split("=", 1)[1] for part in headers["X-AttestPay-Signature"].split(","))
            assert headers["X-AttestPay-Signature"] == signature(hook["secret"], int(stamp), raw)
            assert hmac.compare_digest(
                mac, hmac.new(hook["secret"].encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
            )
            events.append(json.loads(raw)["event"])
        for name in ("AgreementCreated", "AgreementFunded", "MilestoneSettled", "HoldbackReleased"):
            assert name in events
        assert events.count("MilestoneSettled") == 2
    finally:
        receiver.close()


def test_a_partial_result_settles_on_the_providers_signed_acceptance(api, relayer):
    chain = api.chain
    agreement, client, provider = funded(api, agreement_body(chain, milestones=1))
    pk = agreement["id"]
    worker = worker_for(api, **engine_settings(relayer[0]))
    below = api.push(api.api_key("oracle-node", "oracle"), agreement, 0, 8600, chain.oracles[:2])
    worker.turn()
    assert milestone_rows(api, pk)[0][0] == "open"  # below target: nothing happens by itself

    url = f"/v1/agreements/{pk}/milestones/0/accept-partial"
    data = api.client.get(url, params={"attestation": below["digest"]}, headers=provider).json()
    wrong = Account.sign_typed_data(chain.client.key, full_message=data["typed_data"]).signature.hex()
    refused = api.client.post(url, json={"attestation": below["digest"], "signature": "0x" + wrong}, headers=client)
    assert refused.status_code == 422 and "must be signed by" in refused.json()["detail"]

    accepted = Account.sign_typed_data(chain.provider.key, full_message=data["typed_data"]).signature.hex()
    intent = api.client.post(url, json={"attestation": below["digest"], "signature": "0x" + accepted}, headers=client)
    assert intent.status_code == 202, intent.text
    again = api.client.post(url, json={"attestation": below["digest"], "signature": "0x" + accepted}, headers=provider)
    assert again.status_code == 409
    turn_until(worker, lambda: milestone_rows(api, pk)[0][0] == "settled")
    status, paid_now, _, _ = milestone_rows(api, pk)[0]
    assert paid_now == 50 * 10**18 + 50 * 10**18 * (8600 - 8000) // (9200 - 8000)  # floor share + the linear part


def test_the_database_rebuilt_from_events_alone_equals_the_live_one(api, relayer):
    chain = api.chain
    body = agreement_body(chain)
    body["milestones"][0] |= {"holdback_bps": 1000, "holdback_period": DAY}
    agreement, client, provider = funded(api, body)
    worker = worker_for(api, **engine_settings(relayer[0]))
    oracle_key = api.api_key("oracle-node", "oracle")
    api.push(oracle_key, agreement, 0, 9400, chain.oracles[:2])
    api.send_all(
        chain.client,
        api.client.post(f"/v1/agreements/{agreement['id']}/transactions/dispute", json={"index": 1}, headers=client),
    )
    turn_until(worker, lambda: milestone_rows(api, agreement["id"])[0][0] == "settled")
    worker.indexer.catch_up()
    live = chain_derived(api)
    assert live["events"] and live["invoices"]

    worker.indexer.rebuild()
    assert chain_derived(api) == live


def test_an_intent_overtaken_by_a_party_ends_superseded_without_sending(api, relayer):
    chain = api.chain
    agreement, client, _ = funded(api, agreement_body(chain, milestones=1))
    worker = worker_for(api, **engine_settings(relayer[0]))
    pushed = api.push(api.api_key("oracle-node", "oracle"), agreement, 0, 9700, chain.oracles[:2])
    worker.indexer.catch_up()
    assert worker.automation.step() == 1  # queued
    api.settle(chain.client, client, agreement["id"], 0, pushed["digest"])  # the client, from its own wallet, first

    worker.relayer.step()
    with api.app.state.sessions() as session:
        (intent,) = session.scalars(select(RelayIntent)).all()
        assert intent.status == "superseded" and intent.error["revert"] == "WrongMilestoneStatus"
        assert intent.key.endswith(f"#superseded-{intent.id}") and intent.nonce is None
        assert session.get(RelayNonce, relayer[1]) is None  # no nonce was taken
    assert chain.w3.eth.get_transaction_count(relayer[1]) == 0
    worker.turn()
    assert worker.automation.step() == 0  # the milestone is settled: nothing more to queue


def test_a_settlement_the_escrow_refuses_for_good_fails_with_its_reason_and_frees_its_key(api, relayer):
    chain = api.chain
    agreement, _, _ = funded(api, agreement_body(chain, milestones=1))
    worker = worker_for(api, **engine_settings(relayer[0]))
    api.push(api.api_key("oracle-node", "oracle"), agreement, 0, 9700, chain.oracles[:2])  # valid for a day
    worker.indexer.catch_up()
    assert worker.automation.step() == 1
    chain.warp(chain.now() + 2 * DAY)
    chain.w3.eth.send_transaction({"from": chain.w3.eth.accounts[0], "to": chain.w3.eth.accounts[0], "value": 0})

    worker.relayer.step()
    with api.app.state.sessions() as session:
        (intent,) = session.scalars(select(RelayIntent)).all()
        assert (intent.status, intent.error["revert"]) == ("failed", "AttestationExpired")
        assert intent.error["reason"].startswith("the attestation expired on 20"), intent.error  # a date with the year
        assert intent.key == f"settle:{agreement['agreement_id']}:0#failed-{intent.id}"
    assert chain.w3.eth.get_transaction_count(relayer[1]) == 0
    assert worker.automation.step() == 0  # the only attestation has expired: nothing to queue until a new one


def test_a_webhook_that_fails_is_retried_with_backoff_until_it_answers(api, relayer):
    chain = api.chain
    receiver = WebhookReceiver(status=500)
    try:
        api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.sign_in(chain.client))
        funded(api, agreement_body(chain, milestones=1))
        worker = worker_for(api, **engine_settings(relayer[0]))
        worker.indexer.catch_up()
        sent_from = time.time()
        assert worker.deliveries.step() == 0
        sent_until = time.time()
        failed = len(receiver.received)
        assert failed >= 2  # AgreementCreated and AgreementFunded at least, each refused
        with api.app.state.sessions() as session:
            pending = session.scalars(select(WebhookDelivery)).all()
            assert {(d.status, d.attempts, d.last_error) for d in pending} == {("pending", 1, "HTTP 500")}
            assert all(sent_from + 2 <= d.next_attempt_at <= sent_until + 2 for d in pending)  # backing off 2^1 s

        receiver.status = 200
        with api.app.state.sessions() as session, session.begin():
            session.execute(update(WebhookDelivery).values(next_attempt_at=0.0))  # the backoff has passed
        assert worker.deliveries.step() == failed
        bodies = [json.loads(body) for _, body in receiver.received]
        assert bodies[:failed] == bodies[failed:]  # the same notifications, again
    finally:
        receiver.close()


def test_the_embedded_chain_runs_its_worker_in_the_api_process(chain, database_url, tmp_path):
    path, address = relayer_keystore(tmp_path)
    chain.w3.eth.send_transaction({"from": chain.w3.eth.accounts[0], "to": address, "value": 10**19})
    api = Api(chain, database_url, worker_in_process=True, **engine_settings(path))
    agreement, client, _ = funded(api, agreement_body(chain, milestones=1))
    api.push(api.api_key("oracle-node", "oracle"), agreement, 0, 9700, chain.oracles[:2])
    with api.client:  # starts the app's lifespan, and with it the worker thread (the chain is its alone now)
        deadline = time.monotonic() + 30
        while (
            api.client.get(f"/v1/agreements/{agreement['id']}", headers=client).json()["milestones"][0]["status"]
            != "settled"
        ):
            assert time.monotonic() < deadline, "the in-process worker did not settle the milestone"
            time.sleep(0.05)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.example.com/x", "must use https"),
        ("https://127.0.0.1/hook", "not a public address"),
        ("https://localhost:8443/hook", "not a public address"),
        ("https://10.1.2.3/hook", "not a public address"),
    ],
)
def test_production_refuses_webhooks_into_the_services_own_network(chain, database_url, url, reason):
    api = Api(chain, database_url, environment="production", rpc_url="http://127.0.0.1:1", deployment_file="/dev/null")
    refused = api.client.post("/v1/webhooks", json={"url": url}, headers=api.sign_in(chain.client))
    assert refused.status_code == 422 and reason in refused.json()["detail"]
