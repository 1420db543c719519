"""Invoice numbers: one gapless series per issuer, taken in the issuing transaction, on both databases
with two engines as two replicas would hold them: a rolled-back issue gives its number back, threads
issuing at once on both replicas take each number once, two issuers count apart, and a party's report
and the indexer issuing together queue on the series instead of deadlocking."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_utils import encode_hex
from factories import agreement_body, wallet_send
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.db.models import InvoiceSeries
from backend.db.session import make_engine
from backend.services import chain_sync, invoice_series

PROVIDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
OTHER = "0x3C44CdDd00000000000000000000000000000001"  # the same first 8 hex digits


def test_numbers_are_gapless_per_issuer_across_replicas_and_a_rollback(database_url):
    replicas = [make_engine(database_url), make_engine(database_url)]
    try:
        first = Session(replicas[0])
        taken, numbered = invoice_series.take(first, PROVIDER)
        assert (taken, numbered) == (1, "AP-3C44CDDD-000001")

        done = threading.Event()
        waiting: list[tuple[int, str]] = []

        def other_replica() -> None:
            with Session(replicas[1]) as session:
                waiting.append(invoice_series.take(session, PROVIDER))
                session.commit()
            done.set()

        thread = threading.Thread(target=other_replica)
        thread.start()
        first.rollback()  # the issue failed: its number is free again
        again = invoice_series.take(first, PROVIDER)
        first.commit()
        first.close()
        assert done.wait(30)
        thread.join()
        assert sorted([again[0], waiting[0][0]]) == [1, 2]

        def issue(n: int) -> int:
            with Session(replicas[n % 2]) as session:
                sequence, _ = invoice_series.take(session, PROVIDER)
                session.commit()
                return sequence

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert sorted(pool.map(issue, range(40))) == list(range(3, 43))

        with Session(replicas[1]) as session:
            assert invoice_series.take(session, OTHER) == (1, "AP-3C44CDDD0000-000001")  # its own series
            session.commit()
            prefixes = dict(session.execute(select(InvoiceSeries.issuer, InvoiceSeries.prefix)).all())
        assert prefixes == {PROVIDER: "AP-3C44CDDD", OTHER: "AP-3C44CDDD0000"}
    finally:
        for engine in replicas:
            engine.dispose()


@pytest.mark.slow  # two writers racing on PostgreSQL
def test_a_party_reporting_a_payment_while_the_indexer_issues_the_one_before_waits_instead_of_deadlocking(
    chain, database_url
):
    """The indexer holds the provider's series (it issued invoice 1) and reaches the next payment's event,
    which a party is reporting at that moment: the report waits on the series before storing the event,
    so the indexer stores it without waiting (the other lock order would deadlock on PostgreSQL)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: no lock order to get wrong")
    from backend_support import Api

    api = Api(chain, database_url)
    agreement, client, _ = api.consented(agreement_body(chain, milestones=2))
    pk, oracle = agreement["id"], api.api_key("node", "oracle")
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    events = []
    for index in (0, 1):  # mined, not reported: the database has not seen them
        pushed = api.push(oracle, agreement, index, 9700, chain.oracles[:2])
        prepared = api.client.post(
            f"/v1/agreements/{pk}/transactions/settle", json={"index": index, "attestation": pushed["digest"]},
            headers=client,
        ).json()["transactions"]  # fmt: skip
        receipt = api.app.state.chain.receipt(wallet_send(chain, chain.client, prepared[-1]))
        (settled,) = [e for e in api.app.state.chain.escrow_events(receipt) if e.event == "MilestoneSettled"]
        events.append((settled, api.app.state.chain.block_time(receipt["blockNumber"]), receipt["from"]))

    indexer = api.app.state.sessions()
    indexer.execute(text("SET LOCAL lock_timeout = '20s'"))
    chain_sync.apply(indexer, *events[0])  # invoice 1: the series is the indexer's until it commits
    reported: list = []

    def report() -> None:
        with api.app.state.sessions() as session:
            reported.append(chain_sync.apply(session, *events[1]).tx_hash)
            session.commit()

    party = threading.Thread(target=report)
    party.start()
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    deadline = time.monotonic() + 30
    watcher = make_engine(database_url)
    while not _scalar(watcher, waiting):  # a fresh transaction each time: the statistics are snapshots
        assert time.monotonic() < deadline, "the report never waited on the series"
    watcher.dispose()
    chain_sync.apply(indexer, *events[1])  # the report has not stored this event: no wait, no deadlock
    indexer.commit()
    indexer.close()
    party.join(30)
    assert reported == [encode_hex(events[1][0].transactionHash)]
    numbers = api.client.get(f"/v1/agreements/{pk}/invoices", headers=client).json()
    assert numbers == [f"AP-{chain.provider.address[2:10].upper()}-{n:06d}" for n in (1, 2)]


def _scalar(engine, sql: str):
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar()
