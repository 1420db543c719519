"""Invoice numbers: one gapless series per issuer, taken in the issuing transaction, on both databases
with two engines as two replicas would hold them: a rolled-back issue gives its number back, threads
issuing at once on both replicas take each number once, and two issuers count apart."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import InvoiceSeries
from backend.db.session import make_engine
from backend.services import invoice_series

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
