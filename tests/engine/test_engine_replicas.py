"""Several replicas on one PostgreSQL against anvil: two API processes take 200 concurrent
attestation pushes over 50 milestones while two worker processes settle them; then two workers
settle through an RPC proxy that drops, delays and garbles calls. Each milestone is paid exactly
once, the relayer's nonces have no gap, no intent is lost, and the database equals the chain."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import httpx
from backend_support import OPERATOR_KEY, Api
from engine_support import RELAYER_PASSWORD, relayer_keystore
from factories import agreement_body
from sqlalchemy import select

from attestpay import typed_data
from attestpay.devstack import FaultyRpc, service_env, start_api, start_worker, stop, wait_until
from backend.db.models import ChainEvent, Invoice, MilestoneRecord, RelayIntent

STATUS = {"open": 0, "disputed": 1, "settled": 2, "reclaimed": 3, "resolved": 4}


def funded_agreements(api: Api, count: int, milestones: int) -> list[dict]:
    made = []
    for n in range(count):
        agreement, client, _ = api.consented(agreement_body(api.chain, milestones=milestones, title=f"agreement {n}"))
        api.send_all(
            api.chain.client, api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client)
        )
        made.append(agreement)
    return made


def pushes(api: Api, agreements: list[dict], per_milestone: int) -> list[dict]:
    """Bodies of signed pushes: each of the first two oracles' signature, repeated to reach `per_milestone`."""
    bodies = []
    for agreement in agreements:
        for index in range(len(agreement["milestones"])):
            message, digest = api.attestation(agreement, index, 9700)
            signed = [
                {
                    "attestation": message,
                    "digest": "0x" + digest.hex(),
                    "signer": o.address,
                    "signature": "0x" + typed_data.sign(o.key, digest).hex(),
                }
                for o in api.chain.oracles[:2]
            ]
            bodies.extend(itertools.islice(itertools.cycle(signed), per_milestone))
    return bodies


def check_paid_once_and_database_equals_chain(api: Api, agreements: list[dict], relayer: str) -> None:
    chain = api.chain
    milestones = sum(len(a["milestones"]) for a in agreements)
    logs = chain.escrow.events.MilestoneSettled().get_logs(from_block=chain.start_block)
    paid = sorted((log.args.agreementId.hex(), log.args.index) for log in logs)
    assert len(paid) == milestones and len(set(paid)) == milestones  # every milestone once, none twice
    with api.app.state.sessions() as session:
        intents = list(session.scalars(select(RelayIntent).order_by(RelayIntent.nonce)))
        assert [i.status for i in intents] == ["confirmed"] * milestones  # no intent lost or failed
        assert [i.nonce for i in intents] == list(range(milestones))  # no gap, no nonce shared
        assert chain.w3.eth.get_transaction_count(relayer) == milestones
        for agreement in agreements:
            agreement_id = bytes.fromhex(agreement["agreement_id"][2:])
            rows = session.scalars(
                select(MilestoneRecord)
                .where(MilestoneRecord.agreement_pk == agreement["id"])
                .order_by(MilestoneRecord.index)
            )
            assert [STATUS[m.status] for m in rows] == [
                chain.escrow.functions.milestoneStatus(agreement_id, i).call()
                for i in range(len(agreement["milestones"]))
            ]
        stored = {
            (e.tx_hash, e.log_index)
            for e in session.scalars(select(ChainEvent).where(ChainEvent.name == "MilestoneSettled"))
        }
        assert stored == {("0x" + log.transactionHash.hex(), log.logIndex) for log in logs}
        series = f"AP-{chain.provider.address[2:10].upper()}"  # one provider: one gapless series, each number once
        numbers = sorted(session.scalars(select(Invoice.number)))
        assert numbers == [f"{series}-{n:06d}" for n in range(1, milestones + 1)]


def test_two_api_replicas_and_two_workers_settle_each_of_50_milestones_once(anvil, engine_database, tmp_path):
    api = Api(anvil, engine_database, sign_ins_per_minute=10_000)
    agreements = funded_agreements(api, 5, 10)
    oracle_key = api.api_key("oracle-node", "oracle")
    keystore, relayer = relayer_keystore(tmp_path, anvil.relayer.key)
    env = service_env(
        anvil, tmp_path, engine_database, keystore, RELAYER_PASSWORD, ATTESTPAY_OPERATOR_API_KEY=OPERATOR_KEY
    )
    replicas = [start_api(env, tmp_path / f"api{n}.log") for n in range(2)]
    workers = [start_worker(env, tmp_path / f"worker{n}.log") for n in range(2)]
    try:
        bodies = pushes(api, agreements, per_milestone=4)
        assert len(bodies) == 200

        def push(numbered):
            n, body = numbered
            url = replicas[n % 2][1] + "/v1/attestations"
            return httpx.post(url, json=body, headers=oracle_key, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            assert set(pool.map(push, enumerate(bodies))) == {200}
        wait_until(lambda: settled_count(api) == 50, seconds=120, what="50 settlements")
        wait_until(lambda: all_confirmed(api, 50), seconds=60, what="50 confirmations")
    finally:
        stop(*workers, *(process for process, _ in replicas))
    check_paid_once_and_database_equals_chain(api, agreements, relayer)


def test_rpc_faults_neither_pay_twice_nor_lose_an_intent(anvil, engine_database, tmp_path):
    api = Api(anvil, engine_database, sign_ins_per_minute=10_000)
    agreements = funded_agreements(api, 2, 5)
    oracle_key = api.api_key("oracle-node", "oracle")
    for body in pushes(api, agreements, per_milestone=2):
        assert api.client.post("/v1/attestations", json=body, headers=oracle_key).status_code == 200
    keystore, relayer = relayer_keystore(tmp_path, anvil.relayer.key)
    proxy = FaultyRpc(anvil.url, late_seconds=1.5)
    env = service_env(
        anvil,
        tmp_path,
        engine_database,
        keystore,
        RELAYER_PASSWORD,
        ATTESTPAY_RPC_URL=proxy.url,
        ATTESTPAY_RPC_TIMEOUT_SECONDS="1",
    )
    workers = [start_worker(env, tmp_path / f"worker{n}.log") for n in range(2)]
    try:
        wait_until(
            lambda: settled_count(api) == 10 and all_confirmed(api, 10),
            seconds=180,
            what="10 settlements through faults",
        )
    finally:
        stop(*workers)
        proxy.close()
    assert sum(n for fault, n in proxy.counts.items() if fault != "ok") >= 10, proxy.counts  # the faults did happen
    check_paid_once_and_database_equals_chain(api, agreements, relayer)


def settled_count(api: Api) -> int:
    with api.app.state.sessions() as session:
        return len(session.scalars(select(MilestoneRecord.id).where(MilestoneRecord.status == "settled")).all())


def all_confirmed(api: Api, count: int) -> bool:
    with api.app.state.sessions() as session:
        statuses = session.scalars(select(RelayIntent.status)).all()
    return len(statuses) == count and set(statuses) == {"confirmed"}
