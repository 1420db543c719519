"""The backend under test: the real app on a real database (SQLite and PostgreSQL) and the real
contracts on the session's eth-tester chain; wallets sign in with SIWE as a browser wallet would."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from siwe import SiweMessage

from backend.api.app import create_app
from backend.chain import ChainGateway
from backend.db.migrate import upgrade
from backend.settings import Settings

POSTGRES_SERVER = os.environ.get("ATTESTPAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "attestpay_backend_test"
POSTGRES_URL = f"{POSTGRES_SERVER}?options=-csearch_path%3D{SCHEMA}"
DOMAIN = "attestpay.test"
OPERATOR_KEY = "operator-key-for-tests-0123456789abcdef"


def postgres_or_skip() -> None:
    engine = sqlalchemy.create_engine(POSTGRES_SERVER)
    try:
        engine.connect().close()
    except sqlalchemy.exc.OperationalError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_SERVER} (CI requires it)")
    finally:
        engine.dispose()


def fresh_postgres_schema() -> None:
    engine = sqlalchemy.create_engine(POSTGRES_SERVER)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    engine.dispose()


def truncate_postgres() -> None:
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        tables = [t for t in sqlalchemy.inspect(conn).get_table_names() if t != "alembic_version"]
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def migrated_postgres() -> str:
    postgres_or_skip()
    fresh_postgres_schema()
    upgrade(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Every backend test runs on both databases, each test on empty tables."""
    if request.param == "sqlite":
        path = tmp_path / "backend.db"
        shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("migrated_postgres")
    truncate_postgres()
    return url


def settings(database_url: str, **changes) -> Settings:
    base = {
        "environment": "test", "database_url": database_url, "migrate_on_start": False, "siwe_domain": DOMAIN,
        "siwe_uri": f"https://{DOMAIN}", "operator_api_key": OPERATOR_KEY,
    }
    return Settings(**(base | changes))


class Api:
    """A TestClient on the app with helpers for signing in wallets and services."""

    def __init__(self, chain, database_url: str, **setting_changes) -> None:
        self.chain = chain
        gateway = ChainGateway(chain.w3, chain.escrow, chain.registry, chain.chain_id)
        self.app = create_app(settings(database_url, **setting_changes), gateway)
        self.client = TestClient(self.app)

    def siwe_message(self, address: str, nonce: str, domain: str = DOMAIN, expires_in: int = 300, chain_id: int | None = None) -> str:
        issued = datetime.now(timezone.utc)
        return SiweMessage(
            domain=domain, address=address, uri=f"https://{domain}", version="1", chain_id=chain_id or self.chain.chain_id,
            nonce=nonce, issued_at=issued.isoformat().replace("+00:00", "Z"), statement="Sign in to AttestPay",
            expiration_time=(issued + timedelta(seconds=expires_in)).isoformat().replace("+00:00", "Z"),
        ).prepare_message()

    @staticmethod
    def personal_sign(key: str, text: str) -> str:
        return "0x" + Account.sign_message(encode_defunct(text=text), key).signature.hex()

    def sign_in(self, party) -> dict:
        nonce = self.client.post("/v1/auth/nonce").json()["nonce"]
        message = self.siwe_message(party.address, nonce)
        response = self.client.post("/v1/auth/sign-in", json={"message": message, "signature": self.personal_sign(party.key, message)})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def api_key(self, name: str, role: str) -> dict:
        response = self.client.post("/v1/api-keys", json={"name": name, "role": role}, headers={"X-API-Key": OPERATOR_KEY})
        assert response.status_code == 201, response.text
        return {"X-API-Key": response.json()["key"]}
