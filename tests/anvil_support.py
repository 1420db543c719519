"""Real processes for the chain engine's tests: anvil (`attestpay.devchain`), a PostgreSQL schema,
and the API, workers and faulty RPC proxy of `attestpay.devstack`, plus a worker that crashes on cue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from backend_support import fresh_postgres_schema, postgres_or_skip, postgres_url, worker_schema

from attestpay import devstack
from attestpay.devchain import start_anvil
from backend.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = worker_schema("attestpay_engine_test")


@pytest.fixture
def anvil():
    """A fresh anvil per test, with the contracts deployed."""
    chain = start_anvil()
    yield chain
    chain.stop()


@pytest.fixture
def engine_database() -> str:
    """A migrated, empty PostgreSQL schema that processes started by the test share."""
    postgres_or_skip()
    fresh_postgres_schema(SCHEMA)
    upgrade(postgres_url(SCHEMA))
    return postgres_url(SCHEMA)


def start_worker(env: dict, log: Path, crash_at: str | None = None) -> subprocess.Popen:
    """`python -m backend.engine worker`, or the crashing variant that dies at `crash_at`."""
    return devstack.start_worker(
        env, log, [sys.executable, str(ROOT / "tests" / "crashing_worker.py"), crash_at] if crash_at else None
    )
