"""Alembic migrations run from code (the app at start-up, tests, `python -m backend.db.migrate`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def config(url: str) -> Config:
    # Alembic (0.3 s to import, with Mako) only where a migration runs, not in every process that starts.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(config(url), revision)


if __name__ == "__main__":
    from backend.settings import get_settings

    upgrade(sys.argv[1] if len(sys.argv) > 1 else get_settings().database_url)
