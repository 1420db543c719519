"""The chain engine as it runs in production: workers as processes on PostgreSQL, against anvil
over JSON-RPC. A worker killed at each point of the relayer's work converges on restart with the
milestone paid exactly once; a reorganisation that drops a settlement is rolled back by the
indexer and the relayer sends the same transaction again, and one that drops what a wallet
reported before the indexer got there is rolled back too."""

from __future__ import annotations

import subprocess
import sys

import pytest
from anvil_support import start_worker
from backend_support import Api
from engine_support import RELAYER_PASSWORD, chain_derived, engine_settings, relayer_keystore, turn_until, worker_for
from factories import agreement_body
from sqlalchemy import select
from web3.exceptions import ContractCustomError

from attestpay.devstack import service_env, stop, wait_until
from attestpay.reverts import decode_revert, revert_data
from backend.db.models import Invoice, MilestoneRecord, RelayIntent

PAID = 110 * 10**18  # a milestone of 100 + 10 bonus, measured past the stretch


def funded_and_attested(api: Api, milestones: int = 1) -> dict:
    agreement, client, _ = api.consented(agreement_body(api.chain, milestones=milestones))
    api.send_all(
        api.chain.client, api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client)
    )
    oracle_key = api.api_key("oracle-node", "oracle")
    for index in range(milestones):
        api.push(oracle_key, agreement, index, 9700, api.chain.oracles[:2])
    return agreement


def intents(api: Api) -> list[RelayIntent]:
    with api.app.state.sessions() as session:
        return list(session.scalars(select(RelayIntent).order_by(RelayIntent.id)))


def settled_events(chain, agreement: dict) -> list:
    event = chain.escrow.events.MilestoneSettled()
    logs = event.get_logs(
        from_block=chain.start_block, argument_filters={"agreementId": bytes.fromhex(agreement["agreement_id"][2:])}
    )
    return [(log.args.index, log.args.paidNow) for log in logs]


@pytest.mark.parametrize("point", ["after_sign", "after_broadcast", "after_receipt"])
def test_a_worker_killed_mid_relay_converges_on_restart_paying_once(point, anvil, engine_database, tmp_path):
    api = Api(anvil, engine_database)
    agreement = funded_and_attested(api)
    keystore, relayer = relayer_keystore(tmp_path, anvil.relayer.key)
    env = service_env(anvil, tmp_path, engine_database, keystore, RELAYER_PASSWORD)
    provider_before = anvil.w3.eth.get_balance(anvil.provider.address)

    crashed = start_worker(env, tmp_path / "worker.log", crash_at=point)
    # a deadline for a loaded machine: the worker starts, queues, signs, sends and reads a receipt first
    assert crashed.wait(timeout=180) == 70, (tmp_path / "worker.log").read_text()[-3000:]
    (intent,) = intents(api)
    sent = anvil.w3.eth.get_transaction_count(relayer)
    assert (intent.status, intent.nonce, sent) == {
        "after_sign": ("signed", 0, 0),
        "after_broadcast": ("signed", 0, 1),
        "after_receipt": ("sent", 0, 1),
    }[point]
    assert intent.raw_tx and intent.tx_hash  # what was signed is known before the chain hears of it

    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: intents(api)[0].status == "confirmed", 60, "confirmation")
        wait_until(lambda: api_milestone(api, 0).status == "settled", 60, "the indexed settlement")
    finally:
        stop(worker)
    assert settled_events(anvil, agreement) == [(0, PAID)]
    assert anvil.w3.eth.get_transaction_count(relayer) == 1
    assert anvil.w3.eth.get_balance(anvil.provider.address) - provider_before == PAID


def api_milestone(api: Api, index: int) -> MilestoneRecord:
    with api.app.state.sessions() as session:
        return session.scalars(
            select(MilestoneRecord).order_by(MilestoneRecord.agreement_pk, MilestoneRecord.index)
        ).all()[index]


def invoice_numbers(api: Api) -> list[str]:
    with api.app.state.sessions() as session:
        return list(session.scalars(select(Invoice.number).order_by(Invoice.id)))


def ready_to_settle(anvil, engine_database, tmp_path):
    """An API and a worker with a relayer, and an agreement attested above target, all indexed."""
    api = Api(anvil, engine_database)
    keystore, relayer = relayer_keystore(tmp_path, anvil.relayer.key)
    worker = worker_for(api, **engine_settings(keystore))
    agreement = funded_and_attested(api)
    worker.indexer.catch_up()
    return api, relayer, worker, agreement


def test_a_reorganisation_that_drops_a_settlement_is_rolled_back_and_sent_again(anvil, engine_database, tmp_path):
    api, relayer, worker, agreement = ready_to_settle(anvil, engine_database, tmp_path)
    before_settlement = anvil.snapshot()
    turn_until(worker, lambda: intents(api)[0].status == "confirmed" and api_milestone(api, 0).status == "settled")
    (intent,) = intents(api)
    dropped_block = intent.mined_block
    first_series = f"AP-{anvil.provider.address[2:10].upper()}-000001"
    assert invoice_numbers(api) == [first_series]

    anvil.revert(before_settlement)  # the settlement's block is replaced by a chain without it
    anvil.mine(3)
    assert settled_events(anvil, agreement) == []
    assert anvil.w3.eth.get_block(dropped_block)["hash"].to_0x_hex() != intent.mined_block_hash

    worker.indexer.step()  # sees the reorganisation
    assert api_milestone(api, 0).status == "open"
    assert intents(api)[0].status == "sent"
    turn_until(worker, lambda: intents(api)[0].status == "confirmed" and api_milestone(api, 0).status == "settled")
    assert settled_events(anvil, agreement) == [(0, PAID)]
    (intent,) = intents(api)
    assert (intent.status, intent.nonce, len(intent.hashes)) == ("confirmed", 0, 1)  # the same bytes, sent again
    assert api_milestone(api, 0).status == "settled"
    assert anvil.w3.eth.get_transaction_count(relayer) == 1
    assert invoice_numbers(api) == [first_series]  # the replaced invoice's number is issued again: no gap


def test_a_receipt_whose_block_is_replaced_before_it_is_stored_counts_for_nothing(anvil, engine_database, tmp_path):
    """The relayer reads the settlement's receipt; before it stores it, the block is replaced and
    the indexer passes that height on the new chain. Stored, the receipt would never be looked at
    again, and the milestone would stay unpaid with its intent confirmed."""
    api, relayer, worker, agreement = ready_to_settle(anvil, engine_database, tmp_path)
    before_settlement = anvil.snapshot()
    read_receipt, reorganised = worker.relayer._receipt, []

    def receipt_then_reorganisation(intent):
        receipt = read_receipt(intent)
        if receipt is not None and not reorganised:
            anvil.revert(before_settlement)
            anvil.mine(3)
            worker.indexer.catch_up()
            reorganised.append(receipt["blockNumber"])
        return receipt

    worker.relayer._receipt = receipt_then_reorganisation
    # sent again, as the same bytes
    turn_until(worker, lambda: reorganised and settled_events(anvil, agreement) == [(0, PAID)])
    turn_until(worker, lambda: intents(api)[0].status == "confirmed" and api_milestone(api, 0).status == "settled")
    (intent,) = intents(api)
    assert anvil.w3.eth.get_transaction_receipt(intent.mined_hash)["blockHash"].to_0x_hex() == intent.mined_block_hash
    assert (intent.nonce, anvil.w3.eth.get_transaction_count(relayer)) == (0, 1)


def test_what_a_wallet_reported_from_a_block_replaced_before_the_indexer_got_there_is_rolled_back(
    anvil, engine_database, tmp_path
):
    api = Api(anvil, engine_database)
    keystore, _ = relayer_keystore(tmp_path, anvil.relayer.key)
    worker = worker_for(api, **engine_settings(keystore))
    agreement, client, _ = api.consented(agreement_body(anvil, milestones=1))
    worker.indexer.catch_up()
    before_funding = anvil.snapshot()
    api.send_all(anvil.client, api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client))
    assert (
        api.client.get(f"/v1/agreements/{agreement['id']}", headers=client).json()["status"] == "active"
    )  # from the wallet's report

    anvil.revert(before_funding)  # the funding's blocks are replaced before the indexer saw them
    anvil.mine(3)
    with pytest.raises(ContractCustomError) as gone:  # the chain no longer knows the agreement
        anvil.escrow.functions.milestoneStatus(bytes.fromhex(agreement["agreement_id"][2:]), 0).call()
    assert decode_revert(anvil.escrow.abi, revert_data(gone.value)).name == "UnknownAgreement"
    worker.indexer.catch_up()
    assert (
        api.client.get(f"/v1/agreements/{agreement['id']}", headers=client).json()["status"] == "consented"
    )  # as the chain says
    assert chain_derived(api)["events"] == []


def test_a_stuck_transaction_is_replaced_at_the_same_nonce_with_both_fees_raised(anvil, engine_database, tmp_path):
    api = Api(anvil, engine_database)
    keystore, relayer = relayer_keystore(tmp_path, anvil.relayer.key)
    worker = worker_for(api, **engine_settings(keystore, replace_after_seconds=60))
    agreement = funded_and_attested(api)
    anvil.w3.provider.make_request("evm_setAutomine", [False])  # nothing is mined until we say so
    turn_until(worker, lambda: intents(api) and intents(api)[0].status == "sent")
    first = intents(api)[0]
    assert (first.status, len(first.hashes)) == ("sent", 1)  # waiting, not yet replaced
    with api.app.state.sessions() as session, session.begin():
        aged = session.get(RelayIntent, first.id)
        aged.sent_at, aged.next_attempt_at = aged.sent_at - 60, 0.0  # a minute passes without the transaction mined
    worker.relayer.step()  # replaced: the new version is stored first...
    assert intents(api)[0].status == "signed"
    worker.relayer.step()  # ...then broadcast
    second = intents(api)[0]
    assert (second.status, second.nonce, len(second.hashes)) == ("sent", 0, 2)
    assert (
        second.max_fee * 8 >= first.max_fee * 9 and second.priority_fee * 8 >= first.priority_fee * 9
    )  # both +12.5% or more

    anvil.mine()
    turn_until(worker, lambda: intents(api)[0].status not in ("sent", "mined"))  # tracked once its poll interval passed
    (intent,) = intents(api)
    assert (intent.status, intent.mined_hash) == ("confirmed", second.hashes[1])  # the replacement won the nonce
    assert settled_events(anvil, agreement) == [(0, PAID)]
    assert anvil.w3.eth.get_transaction_count(relayer) == 1


def test_confirmations_hold_back_the_relayer_and_the_indexer_and_the_rebuild_command_restores_the_state(
    anvil, engine_database, tmp_path
):
    api = Api(anvil, engine_database)
    keystore, _ = relayer_keystore(tmp_path, anvil.relayer.key)
    worker = worker_for(api, **engine_settings(keystore, confirmations=3))
    funded_and_attested(api)
    turn_until(worker, lambda: intents(api) and intents(api)[0].status == "mined")  # one block holds it; three must
    assert api_milestone(api, 0).status == "open"  # the indexer stays two blocks behind the head
    anvil.mine(2)
    turn_until(worker, lambda: intents(api)[0].status == "confirmed" and api_milestone(api, 0).status == "settled")
    live = chain_derived(api)

    env = service_env(anvil, tmp_path, engine_database, keystore, RELAYER_PASSWORD, ATTESTPAY_CONFIRMATIONS="3")
    rebuilt = subprocess.run(
        [sys.executable, "-m", "backend.engine", "rebuild"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt from the chain's events" in rebuilt.stdout
    assert chain_derived(api) == live
