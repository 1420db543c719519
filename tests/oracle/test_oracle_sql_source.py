"""The SQL source against real databases: a SQLite file and the PostgreSQL server (127.0.0.1:5432)."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy
from backend_support import POSTGRES_SERVER as POSTGRES_URL, postgres_or_skip

from oracle.errors import SourceError
from oracle.evidence import EvidenceStore
from oracle.measure import measure
from oracle.sources import fetch
from oracle.spec import load_spec

pytestmark = pytest.mark.postgres  # a PostgreSQL source


def _spec(query: str, aggregation: str = "count", window: int | None = None):
    return load_spec(
        json.dumps(
            {
                "name": "activated users",
                "version": 1,
                "unit": "users",
                "decimals": 0,
                "higher_is_better": True,
                "aggregation": aggregation,
                "window_seconds": window,
                "source": {
                    "kind": "sql",
                    "url_env": "SOURCE_ONBOARDING_DB",
                    "query": query,
                    "time_column": "activated_at",
                    "value_column": "user_id",
                },
            }
        )
    )


def _activated_users(url: str, table: str, count: int) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (user_id INTEGER, activated_at INTEGER, plan TEXT)")
        conn.execute(
            sqlalchemy.text(f"INSERT INTO {table} VALUES (:u, :t, :p)"),
            [{"u": i, "t": 1000 + i, "p": "pro" if i % 4 == 0 else "free"} for i in range(count)],
        )
    engine.dispose()


def test_activated_users_counted_from_a_sqlite_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'onboarding.db'}"
    _activated_users(url, "activations", 1200)
    monkeypatch.setenv("SOURCE_ONBOARDING_DB", url)
    store = EvidenceStore(tmp_path / "evidence")
    spec = _spec("SELECT user_id, activated_at FROM activations WHERE plan = 'pro'", window=1000)
    m = measure(spec, tmp_path, store, observed_at=2199)
    assert (m.value, m.used, m.ignored) == (250, 250, 50)  # pro users activated in (1199, 2199]
    first = json.loads(store.get(m.evidence_hash).splitlines()[0])
    assert first == {"activated_at": "1000", "user_id": "0"}
    assert measure(spec, tmp_path, store, observed_at=2199).evidence_hash == m.evidence_hash  # deterministic


@pytest.fixture
def postgres():
    postgres_or_skip()
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    table = f"activations_{uuid.uuid4().hex[:8]}"
    yield table
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()


def test_activated_users_counted_from_postgresql_read_only(postgres, tmp_path, monkeypatch):
    _activated_users(POSTGRES_URL, postgres, 1000)
    monkeypatch.setenv("SOURCE_ONBOARDING_DB", POSTGRES_URL)
    m = measure(_spec(f"SELECT user_id, activated_at FROM {postgres}"), tmp_path, EvidenceStore(tmp_path), 5000)
    assert m.value == 1000
    with pytest.raises(SourceError, match="read-only"):
        fetch(_spec(f"DELETE FROM {postgres} RETURNING user_id, activated_at").source, tmp_path, 0)


def test_a_missing_url_a_bad_query_and_an_unreachable_database_fail_clearly(tmp_path, monkeypatch):
    spec = _spec("SELECT 1 AS user_id, 1 AS activated_at")
    with pytest.raises(SourceError, match="set SOURCE_ONBOARDING_DB"):
        fetch(spec.source, tmp_path, 0)
    monkeypatch.setenv("SOURCE_ONBOARDING_DB", f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SourceError, match="query failed"):
        fetch(_spec("SELECT nothing FROM nowhere").source, tmp_path, 0)
    monkeypatch.setenv("SOURCE_ONBOARDING_DB", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(SourceError, match="failed after 4 attempts"):
        fetch(spec.source, tmp_path, 0, retry_delays=(0.01, 0.01, 0.01))


def test_a_malformed_url_is_reported_without_echoing_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_ONBOARDING_DB", "hunter2-not-a-url")
    with pytest.raises(SourceError, match="does not hold a valid SQLAlchemy URL") as failure:
        fetch(_spec("SELECT 1").source, tmp_path, 0)
    assert "hunter2" not in str(failure.value)
