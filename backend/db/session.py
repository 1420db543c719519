"""Engines. SQLite (the embedded default) gets foreign keys, WAL and a busy timeout, so that
concurrent requests wait for the writer instead of failing, and savepoints inside a transaction:
Python's sqlite3 begins a transaction only before a write, so a SAVEPOINT issued first began one
of its own, and releasing it committed what it held at once (a chain event stored, its effect on
the agreement not yet; a crash between lost the effect for good). Sessions, which keep versions and
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

        @event.listens_for(engine, "savepoint")
        def _inside_a_transaction(connection, _name) -> None:
            # IMMEDIATE: a savepoint is for a write, so the write lock is taken now, waiting for the
            # writer that holds it, rather than on a snapshot that writer may outdate.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it would double the round trips of a read. A connection lost to a database restart
    # fails its request (503, `backend.api.app`) and SQLAlchemy then replaces the whole pool. The few
    # connections past the pool are for the threads of a worker running in the same process.
    return create_engine(url, pool_size=pool_size, max_overflow=5)
