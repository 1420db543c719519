"""Alembic environment: the URL comes from the config `backend.db.migrate` builds."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from backend.db.models import Base

target_metadata = Base.metadata


def run() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
