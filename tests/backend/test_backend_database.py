"""A database restart as the API sees it: requests on connections the server dropped answer 503
with Retry-After (nothing half-written), and the next ones work on fresh connections. And SQLite's
savepoints, which belong to their transaction."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy
from backend_support import POSTGRES_SERVER, SCHEMA, Api
from factories import agreement_body
from sqlalchemy.orm import Session

from backend.db.session import make_engine


def drop_connections_to(schema: str) -> int:
    """What a PostgreSQL restart does to the backend's pooled connections."""
    engine = sqlalchemy.create_engine(POSTGRES_SERVER)
    with engine.begin() as conn:
        dropped = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND datname = current_database()"
            " AND application_name = %(name)s",
            {"name": schema},
        ).scalar()
    engine.dispose()
    return dropped


def test_requests_after_a_database_restart_get_503_then_work(chain, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    api = Api(chain, f"{database_url}&application_name={SCHEMA}")
    client = api.sign_in(chain.client)
    pk = api.client.post("/v1/agreements", json=agreement_body(chain), headers=client).json()["id"]
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).status_code == 200
    assert drop_connections_to(SCHEMA) >= 1

    answers = [api.client.post(f"/v1/agreements/{pk}/propose", headers=client) for _ in range(2)]
    assert answers[0].status_code == 503 and answers[0].headers["Retry-After"] == "1"
    assert answers[0].json()["error"] == "DatabaseUnavailable"
    assert answers[1].status_code == 200 and answers[1].json()["status"] == "proposed"


def test_a_sqlite_savepoint_commits_with_its_transaction_not_before(tmp_path):
    """Python's sqlite3 opens a transaction only before a write: a savepoint taken first (a chain
    event stored once) began its own, and its release committed the row at once, before the
    changes that go with it; the indexer's half-applied event then answered a party's report."""
    url = f"sqlite:///{tmp_path}/db.sqlite"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE events (n INTEGER)")
    other = sqlite3.connect(tmp_path / "db.sqlite")

    def stored() -> list[int]:
        return [n for (n,) in other.execute("SELECT n FROM events ORDER BY n")]

    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        session.execute(sqlalchemy.text("SELECT 1"))
        with session.begin_nested():
            session.execute(sqlalchemy.text("INSERT INTO events VALUES (1)"))
        assert stored() == []  # not committed by the savepoint's release
        raise RuntimeError("a crash before the event's effects are written")
    assert stored() == []  # rolled back with the transaction

    with Session(engine) as session, session.begin():
        with session.begin_nested():
            session.execute(sqlalchemy.text("INSERT INTO events VALUES (2)"))
        session.execute(sqlalchemy.text("INSERT INTO events VALUES (3)"))
    assert stored() == [2, 3]
