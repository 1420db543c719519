"""The backend under test: the real app on a real database (SQLite and PostgreSQL) and the real
contracts on the session's eth-tester chain; wallets sign in with SIWE as a browser wallet would."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
from eth_account import Account
from eth_account.messages import encode_defunct
from factories import DAY, wallet_send
from fastapi.testclient import TestClient
from siwe import SiweMessage

from attestpay import typed_data
from attestpay.terms import Attestation
from backend.api.app import create_app
from backend.chain import ChainGateway
from backend.db.migrate import upgrade
from backend.settings import Settings

POSTGRES_SERVER = os.environ.get("ATTESTPAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# pytest-xdist's worker (gw0, gw1, ...): each worker's PostgreSQL tables live in schemas of their own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_schema(name: str) -> str:
    """`name`, made this worker's own, so that parallel workers never share tables."""
    return f"{name}_{WORKER}" if WORKER else name


SCHEMA = worker_schema("attestpay_backend_test")


def postgres_url(schema: str = SCHEMA) -> str:
    """The server's URL with `schema` as the search path: each suite's tables apart."""
    return f"{POSTGRES_SERVER}?options=-csearch_path%3D{schema}"


POSTGRES_URL = postgres_url()
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


def fresh_postgres_schema(schema: str = SCHEMA) -> None:
    engine = sqlalchemy.create_engine(POSTGRES_SERVER)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
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


@pytest.fixture
def api(chain, database_url) -> Api:
    return Api(chain, database_url)


def served_env(workdir: Path, **changes: str) -> dict:
    """The environment of an API process of its own on a migrated SQLite database in `workdir`:
    none of the caller's ATTESTPAY_ variables, `changes` as more (ATTESTPAY_ and the name in capitals)."""
    database = f"sqlite:///{workdir / 'api.db'}"
    upgrade(database)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTPAY_")}
    settings = {"environment": "test", "database_url": database} | changes
    return env | {f"ATTESTPAY_{name.upper()}": value for name, value in settings.items()}


def settings(database_url: str, **changes) -> Settings:
    base = {
        "environment": "test",
        "database_url": database_url,
        "migrate_on_start": False,
        "siwe_domain": DOMAIN,
        "siwe_uri": f"https://{DOMAIN}",
        "operator_api_key": OPERATOR_KEY,
    }
    return Settings(**(base | changes))


class Api:
    """A TestClient on the app with helpers for signing in wallets and services."""

    opened: list[Api] = []  # closed after each test by `close_apis`: their pools hold PostgreSQL connections

    def __init__(self, chain, database_url: str, gateway: ChainGateway | None = None, **setting_changes) -> None:
        self.chain = chain
        gateway = gateway or ChainGateway(chain.w3, chain.escrow, chain.registry, chain.chain_id)
        self.app = create_app(settings(database_url, **setting_changes), gateway)
        self.client = TestClient(self.app)
        Api.opened.append(self)

    def siwe_message(
        self, address: str, nonce: str, domain: str = DOMAIN, expires_in: int = 300, chain_id: int | None = None
    ) -> str:
        issued = datetime.now(UTC)
        return SiweMessage(
            domain=domain,
            address=address,
            uri=f"https://{domain}",
            version="1",
            chain_id=chain_id or self.chain.chain_id,
            nonce=nonce,
            issued_at=issued.isoformat().replace("+00:00", "Z"),
            statement="Sign in to AttestPay",
            expiration_time=(issued + timedelta(seconds=expires_in)).isoformat().replace("+00:00", "Z"),
        ).prepare_message()

    @staticmethod
    def personal_sign(key: str, text: str) -> str:
        return "0x" + Account.sign_message(encode_defunct(text=text), key).signature.hex()

    def sign_in(self, party) -> dict:
        nonce = self.client.post("/v1/auth/nonce").json()["nonce"]
        message = self.siwe_message(party.address, nonce)
        response = self.client.post(
            "/v1/auth/sign-in", json={"message": message, "signature": self.personal_sign(party.key, message)}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def api_key(self, name: str, role: str) -> dict:
        response = self.client.post(
            "/v1/api-keys", json={"name": name, "role": role}, headers={"X-API-Key": OPERATOR_KEY}
        )
        assert response.status_code == 201, response.text
        return {"X-API-Key": response.json()["key"]}

    def consented(self, body: dict) -> tuple[dict, dict, dict]:
        """Creates, proposes and has both parties sign; returns the agreement and both sessions."""
        client, provider = self.sign_in(self.chain.client), self.sign_in(self.chain.provider)
        created = self.client.post("/v1/agreements", json=body, headers=client)
        assert created.status_code == 201, created.text
        pk = created.json()["id"]
        assert self.client.post(f"/v1/agreements/{pk}/propose", headers=provider).json()["status"] == "proposed"
        for party, session in ((self.chain.client, client), (self.chain.provider, provider)):
            data = self.client.get(f"/v1/agreements/{pk}/typed-data", headers=session).json()
            signature = Account.sign_typed_data(party.key, full_message=data["typed_data"]).signature
            response = self.client.post(
                f"/v1/agreements/{pk}/consents", json={"signature": "0x" + signature.hex()}, headers=session
            )
            assert response.status_code == 201, response.text
        return response.json(), client, provider

    def send_all(self, party, response) -> list[str]:
        """Signs and sends every prepared transaction from the party's wallet and reports each one
        sent to the escrow (a token approval has nothing to record)."""
        assert response.status_code == 200, response.text
        txs = response.json()["transactions"]
        hashes = [wallet_send(self.chain, party, tx) for tx in txs]
        for tx, tx_hash in zip(txs, hashes, strict=False):
            if tx["to"] != self.chain.escrow.address:
                continue
            recorded = self.client.post("/v1/transactions", json={"tx_hash": tx_hash}, headers=self.sign_in(party))
            assert recorded.status_code == 201, recorded.text
        return hashes

    def settle(self, party, session: dict, pk: int, index: int, digest: str) -> list[str]:
        """The party settles milestone `index` from its own wallet on the pushed attestation `digest`."""
        response = self.client.post(
            f"/v1/agreements/{pk}/transactions/settle", json={"index": index, "attestation": digest}, headers=session
        )
        return self.send_all(party, response)

    def attestation(
        self, agreement: dict, index: int, value: int, observed_at: int | None = None, evidence: bytes = b"\x11" * 32
    ) -> tuple[dict, bytes]:
        """The attestation message (JSON) for a milestone of an API agreement, and its digest."""
        chain = self.chain
        att = Attestation(
            bytes.fromhex(agreement["agreement_id"][2:]),
            index,
            bytes.fromhex(agreement["milestones"][index]["metric_id"][2:]),
            value,
            observed_at or chain.now(),
            evidence,
            chain.now() + DAY,
        )
        digest = typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
        message = att.to_json()
        return message, digest

    def push(
        self,
        oracle_key: dict,
        agreement: dict,
        index: int,
        value: int,
        oracles,
        observed_at: int | None = None,
        evidence: bytes = b"\x11" * 32,
    ) -> dict:
        """Each oracle pushes its own signature, as the oracle service does; `evidence`: its hash."""
        message, digest = self.attestation(agreement, index, value, observed_at, evidence)
        for oracle in oracles:
            body = {
                "attestation": message,
                "digest": "0x" + digest.hex(),
                "signer": oracle.address,
                "signature": "0x" + typed_data.sign(oracle.key, digest).hex(),
            }
            response = self.client.post("/v1/attestations", json=body, headers=oracle_key)
            assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(autouse=True)
def close_apis():
    """Each test's apps give their database connections back when it ends, not when the garbage
    collector finds them: parallel workers share PostgreSQL's connection limit."""
    yield
    while Api.opened:
        Api.opened.pop().app.state.engine.dispose()
