"""Migrations take an empty database to the models' schema exactly, on SQLite and PostgreSQL,
and back down to nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from backend_support import fresh_postgres_schema, postgres_or_skip, postgres_url

from backend.db.migrate import downgrade, upgrade
from backend.db.models import Base

pytestmark = pytest.mark.postgres  # migrates PostgreSQL schemas itself

SCHEMA_TABLES = {table.name for table in Base.metadata.sorted_tables}


def differences(url: str) -> list:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    return diff


def tables(url: str) -> set[str]:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        names = set(sqlalchemy.inspect(conn).get_table_names())
    engine.dispose()
    return names


def check_round_trip(url: str) -> None:
    assert tables(url) == set()
    upgrade(url)
    assert tables(url) == SCHEMA_TABLES | {"alembic_version"}
    assert differences(url) == []
    upgrade(url)  # already at head: nothing to do
    downgrade(url)
    assert tables(url) == {"alembic_version"}


def test_sqlite_from_empty_to_head_and_back(tmp_path):
    check_round_trip(f"sqlite:///{tmp_path / 'empty.db'}")


def test_postgresql_from_empty_to_head_and_back():
    postgres_or_skip()
    fresh_postgres_schema("attestpay_migration_test")
    check_round_trip(postgres_url("attestpay_migration_test"))


@pytest.mark.slow  # API replicas as processes
def test_replicas_starting_together_migrate_one_after_the_other():
    postgres_or_skip()
    fresh_postgres_schema("attestpay_migration_race")
    url = postgres_url("attestpay_migration_race")
    replicas = [
        subprocess.Popen([sys.executable, "-m", "backend.db.migrate", url], stderr=subprocess.PIPE) for _ in range(8)
    ]
    for replica in replicas:  # processes: Alembic's context is one per process
        _, errors = replica.communicate(timeout=120)
        assert replica.returncode == 0, errors.decode()[-2000:]
    assert differences(url) == []
