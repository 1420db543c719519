"""Workers are woken by committed work, not at their next poll (backend.services.wakeup,
backend.engine.wakeup): the in-process event and, on PostgreSQL, a NOTIFY to other processes. The
poll is set to ten minutes here, so that only a wake-up can make a worker act within the deadline."""

from __future__ import annotations

import threading

import pytest
from backend_support import settings
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.db.session import make_engine
from backend.engine.wakeup import Wakeup
from backend.services.sessions import make_sessionmaker
from backend.services.wakeup import LOCAL, wake_workers

DEADLINE = 60  # seconds: how long a woken worker may take to notice on a loaded machine


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_work_wakes_this_process_workers_when_its_transaction_commits_and_not_before(sessions) -> None:
    LOCAL.clear()
    with sessions() as session:
        session.execute(select(1))
        wake_workers(session)
        assert not LOCAL.is_set()  # woken now, a worker would find nothing yet
        session.commit()
    assert LOCAL.is_set()


def test_work_rolled_back_wakes_no_one(sessions) -> None:
    LOCAL.clear()
    with sessions() as session:
        wake_workers(session)
        session.rollback()
        session.commit()  # a later transaction of the same session made no work
    assert not LOCAL.is_set()


def test_a_notify_from_another_process_wakes_a_listening_worker(migrated_postgres) -> None:
    """The other process is a bare session on its own engine (no in-process event): only
    PostgreSQL's NOTIFY, delivered at its commit, can reach the listener."""
    stop = threading.Event()
    Wakeup(settings(migrated_postgres, poll_seconds=600)).listen(stop)
    other = create_engine(migrated_postgres)
    try:
        assert LOCAL.wait(DEADLINE), "the listener did not connect"  # it wakes once on connecting
        LOCAL.clear()
        with Session(other) as session:
            wake_workers(session)
            session.commit()
        assert LOCAL.wait(DEADLINE), "the NOTIFY did not wake the worker"
    finally:
        stop.set()
        other.dispose()
