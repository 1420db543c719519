"""A database restart as the API sees it: requests on connections the server dropped answer 503
with Retry-After (nothing half-written), and the next ones work on fresh connections."""

from __future__ import annotations

import pytest
import sqlalchemy
from backend_support import POSTGRES_SERVER, SCHEMA, Api
from factories import agreement_body


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
