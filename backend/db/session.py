"""Engines and sessions. SQLite (the embedded default) gets foreign keys, WAL and a busy timeout,
so that concurrent requests wait for the writer instead of failing. Every flush that changes an
agreement, a milestone or a consent raises the agreement's version, and every commit stores the
changed agreements' documents (`backend.services.documents`)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Agreement, Consent, Milestone
from backend.services import documents


def make_engine(url: str, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    # No pre-ping: it would double the round trips of a read. A connection lost to a database restart
    # fails its request (503, `backend.api.app`) and SQLAlchemy then replaces the whole pool. The few
    # connections past the pool are for the threads of a worker running in the same process.
    return create_engine(url, pool_size=pool_size, max_overflow=5)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "before_flush", _raise_versions)
    event.listen(sessions, "before_commit", documents.store_changed)
    event.listen(sessions, "after_transaction_end", documents.forget_changed)
    return sessions


def _raise_versions(session: Session, _context, _instances) -> None:
    """`version = version + 1` in SQL, so that two concurrent changes give two versions."""
    with session.no_autoflush:
        touched = {
            obj if isinstance(obj, Agreement) else obj.agreement
            for obj in (*session.new, *session.dirty)
            if isinstance(obj, (Agreement, Milestone, Consent))
        }
    for agreement in touched:
        if agreement is None or agreement in session.deleted:
            continue
        created = agreement in session.new
        documents.note_changed(session, agreement, created)
        if not created:
            agreement.version = Agreement.version + 1
