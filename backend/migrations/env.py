"""Alembic environment: the URL comes from the config `backend.db.migrate` builds. On PostgreSQL
the upgrade holds an advisory lock, so replicas starting together migrate one after the other
(the later ones find the schema at head)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from backend.db.models import Base

target_metadata = Base.metadata
MIGRATION_LOCK = 0x41545450  # any constant, the same for every replica


def run() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()
    engine.dispose()


run()
