"""One indexer leads per schema: the advisory lock that elects it is keyed by the schema, since
PostgreSQL's advisory locks belong to the whole database (found when parallel test workers, each in
its own schema, took turns and skipped each other's indexing)."""

from __future__ import annotations

import pytest
import sqlalchemy
from backend_support import fresh_postgres_schema, postgres_or_skip, postgres_url, worker_schema
from sqlalchemy import text

from backend.engine.indexer import ADVISORY_LOCK, LEAD

pytestmark = pytest.mark.postgres

TRY = text(f"SELECT pg_try_advisory_xact_lock({LEAD})")


def test_an_indexer_leads_in_its_schema_whatever_another_schema_does():
    postgres_or_skip()
    schemas = [worker_schema(f"attestpay_lead_{name}") for name in ("one", "two")]
    engines = []
    for schema in schemas:
        fresh_postgres_schema(schema)
        engines.append(sqlalchemy.create_engine(postgres_url(schema)))
    try:
        with engines[0].begin() as one, engines[1].begin() as two, engines[0].begin() as same:
            assert one.scalar(TRY, {"k": ADVISORY_LOCK})
            assert two.scalar(TRY, {"k": ADVISORY_LOCK})  # another schema: its own indexer leads
            assert not same.scalar(TRY, {"k": ADVISORY_LOCK})  # a second replica of the first: skips
    finally:
        for engine in engines:
            engine.dispose()
