"""Schemathesis over the OpenAPI schema: generated requests against every operation, on SQLite and
PostgreSQL, with an agreement that has attestations, a settlement and an invoice in place. No
response is a 5xx and every response (status, content type, body) matches the schema."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from backend_support import OPERATOR_KEY, Api, fresh_postgres_schema, postgres_or_skip, postgres_url, worker_schema
from factories import agreement_body
from hypothesis import HealthCheck, given, settings

from backend.db.migrate import upgrade

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # Schemathesis on every operation, PostgreSQL too

SCHEMA = worker_schema("attestpay_openapi_test")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, session_chain, tmp_path_factory):
    """The app with one settled milestone (and its invoice) on a database of its own."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("openapi") / "openapi.db"
        shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
        url = f"sqlite:///{path}"
    else:
        postgres_or_skip()
        fresh_postgres_schema(SCHEMA)
        url = postgres_url(SCHEMA)
        upgrade(url)
    snapshot = session_chain.tester.take_snapshot()
    api = Api(session_chain, url, writes_per_minute=10**6, sign_ins_per_minute=10**6)
    agreement, client, provider = api.consented(agreement_body(session_chain))
    api.send_all(
        session_chain.client, api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client)
    )
    oracle = api.api_key("oracle-node", "oracle")
    met = api.push(oracle, agreement, 0, 9300, session_chain.oracles[:2])
    api.push(oracle, agreement, 1, 8500, session_chain.oracles[:1])
    api.settle(session_chain.provider, provider, agreement["id"], 0, met["digest"])
    yield (
        api,
        {
            "wallet": client,
            "fresh-wallet": lambda: api.sign_in(session_chain.client),
            "oracle": oracle,
            "operator": {"X-API-Key": OPERATOR_KEY},
        },
    )
    session_chain.tester.revert_to_snapshot(snapshot)


def as_wallet(method: str, path: str, headers: dict) -> dict:
    """Each operation as the caller it is meant for: oracles push, operators manage keys, wallets
    do the rest (as the seeded agreement's client)."""
    if method == "POST" and path.startswith("/v1/attestations"):
        return headers["oracle"]
    if path.startswith("/v1/api-keys"):
        return headers["operator"]
    if path == "/v1/auth/sign-out":
        return headers["fresh-wallet"]()  # ending the shared session would leave every later operation 401
    return headers["wallet"]


def as_operator(_method: str, _path: str, headers: dict) -> dict:
    """Every operation with the operator's key: reads succeed, a wallet's writes are 403."""
    return headers["operator"]


# Schema-valid requests the API refuses for what the schema cannot say: a 400 for text a database
# cannot store (a NUL; documented), a 422 for terms the escrow would refuse (parties that coincide,
# misordered thresholds, past deadlines), answered with the field. Everything else must be accepted.
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "422", "429"]
EXAMPLES = {as_wallet: 8, as_operator: 4}  # per operation: a fixed budget, about a minute in all


@pytest.mark.parametrize("caller", [as_wallet, as_operator])
def test_every_operation_answers_within_its_schema(seeded, caller):
    """One Hypothesis run per operation (schemathesis' pytest plugin does not work with pytest 9)
    with every check schemathesis has, credentials included: each operation must also refuse the
    request without them and with invalid ones."""
    api, headers = seeded
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    schema.config.checks.positive_data_acceptance.expected_statuses = ACCEPTED
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 36

    for operation in operations:

        @settings(max_examples=EXAMPLES[caller], deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")
            }
            # Passed to the call, the credentials count as the caller's own: schemathesis then also
            # checks that the operation refuses the request without them and with invalid ones.
            case.call_and_validate(headers=caller(case.method, case.path, headers))

        check()
