"""Real processes for the chain engine's tests: anvil (`attestpay.devchain`), a PostgreSQL schema,
and the API, workers and faulty RPC proxy of `attestpay.devstack`, plus a worker that crashes on cue."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from backend_support import OPERATOR_KEY, fresh_postgres_schema, postgres_or_skip, postgres_url, worker_schema
from engine_support import RELAYER_PASSWORD, relayer_keystore
from eth_account import Account

from attestpay import devstack, typed_data
from attestpay.devchain import AnvilChain, start_anvil
from attestpay.terms import Attestation
from backend.client import BackendClient
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


@contextmanager
def backend_on_anvil(anvil: AnvilChain, workdir: Path, worker: bool = True, **settings: str) -> Iterator[str]:
    """The API (and a worker) as processes on `anvil` and a SQLite file in `workdir`, with the
    operator key of the tests, as a person runs them; yields the API's URL. Each CLI command is a new
    process that signs in anew: more sign-ins a minute than the default 20. `settings`: more
    ATTESTPAY_ variables."""
    keystore, _ = relayer_keystore(workdir, anvil.relayer.key)
    env = devstack.service_env(
        anvil,
        workdir,
        f"sqlite:///{workdir}/api.db",
        keystore,
        RELAYER_PASSWORD,
        **{
            "ATTESTPAY_MIGRATE_ON_START": "true",
            "ATTESTPAY_OPERATOR_API_KEY": OPERATOR_KEY,
            "ATTESTPAY_SIGN_INS_PER_MINUTE": "600",
        }
        | settings,
    )
    api, url = devstack.start_api(env, workdir / "api.log")
    processes = [api]
    if worker:
        processes.append(devstack.start_worker(env | {"ATTESTPAY_MIGRATE_ON_START": "false"}, workdir / "worker.log"))
    try:
        yield url
    finally:
        devstack.stop(*processes)


def party_keystores(anvil: AnvilChain, workdir: Path, password: str, *names: str) -> None:
    """`NAME.json` keystores in `workdir` for anvil's parties (client, provider, arbiter) and the
    `password` file the CLI reads them with (a fast KDF: these keys are public)."""
    (workdir / "password").write_text(password + "\n")
    for name in names:
        key = getattr(anvil, name).key
        (workdir / f"{name}.json").write_text(
            json.dumps(Account.encrypt(key, password, kdf="pbkdf2", iterations=1_000))
        )


def push_attestation(anvil: AnvilChain, url: str, agreement: dict, index: int, value: int) -> bytes:
    """Two of anvil's three oracles sign `value` for milestone `index` (observed now) and push it to the
    API, as the oracle nodes do, each push under a new oracle API key; returns the digest."""
    client = BackendClient(url)
    key = client.request(
        "POST",
        "/v1/api-keys",
        json={"name": f"oracle-{index}-{value}-{anvil.now()}", "role": "oracle"},
        headers={"X-API-Key": OPERATOR_KEY},
    )["key"]
    att = Attestation(
        bytes.fromhex(agreement["agreement_id"][2:]),
        index,
        bytes.fromhex(agreement["milestones"][index]["metric_id"][2:]),
        value,
        anvil.now(),
        bytes([index + 1]) * 32,
        anvil.now() + 86_400,
    )
    digest = typed_data.attestation_digest(att, anvil.chain_id, anvil.escrow.address)
    for oracle in anvil.oracles[:2]:
        signature = "0x" + typed_data.sign(oracle.key, digest).hex()
        client.request(
            "POST",
            "/v1/attestations",
            headers={"X-API-Key": key},
            json={"attestation": att.to_json(), "signer": oracle.address, "signature": signature},
        )
    return digest
