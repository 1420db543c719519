"""Engines. SQLite (the embedded default) gets foreign keys, WAL and a busy timeout, so that
concurrent requests wait for the writer instead of failing. Sessions, which keep versions and
documents with every commit, come from `backend.services.sessions`."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event


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
