"""What the benchmarks and the soak that run the deployed stack share: a fresh schema on their
PostgreSQL, the relayer's keystore, the API and workers as processes, polling, the agreements they
propose and fund, the model data, the oracle nodes' anchoring lag, and the results file."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import sqlalchemy
from eth_account import Account

from attestpay.devchain import AnvilChain
from attestpay.devstack import ROOT, service_env, start_api, start_worker, wait_until
from backend.client import BackendClient
from backend.db.migrate import upgrade

T = TypeVar("T")
POSTGRES = os.environ.get("ATTESTPAY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OPERATOR_KEY = "bench-operator-key-0123456789abcdef0123"
PASSWORD = "bench-relayer-password"


def fresh_schema(schema: str, server: str = POSTGRES) -> str:
    """The URL of `schema` on `server`, dropped and created empty."""
    engine = sqlalchemy.create_engine(server)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    return f"{server}?options=-csearch_path%3D{schema}"


def fresh_database(schema: str) -> str:
    """A fresh schema on the benchmarks' PostgreSQL, migrated, as the services expect it."""
    url = fresh_schema(schema)
    upgrade(url)
    return url


def relayer_keystore(chain: AnvilChain, workdir: Path, password: str = PASSWORD) -> str:
    """The path of the chain's relayer key, encrypted with `password` (a cheap KDF: a bench, not a vault)."""
    keystore = workdir / "relayer.json"
    keystore.write_text(json.dumps(Account.encrypt(chain.relayer.key, password, kdf="pbkdf2", iterations=1_000)))
    return str(keystore)


def start_services(
    chain: AnvilChain, workdir: Path, database_url: str, processes: list[subprocess.Popen], **extra: str
) -> BackendClient:
    """The API and two workers as processes, as deployed, on `chain` and `database_url`, with the
    operator key and no rate limit in the way; `extra`: more ATTESTPAY_* settings. The processes are
    added to `processes` as they start, for the caller to stop; returns a client of the API."""
    env = service_env(
        chain,
        workdir,
        database_url,
        relayer_keystore(chain, workdir),
        PASSWORD,
        ATTESTPAY_OPERATOR_API_KEY=OPERATOR_KEY,
        ATTESTPAY_WRITES_PER_MINUTE=str(10**9),
        ATTESTPAY_SIGN_INS_PER_MINUTE=str(10**9),
        **extra,
    )
    api, url = start_api(env, workdir / "api.log")
    processes.append(api)
    processes += [start_worker(env, workdir / f"worker{n}.log") for n in range(2)]
    return BackendClient(url)


def wait(condition: Callable[[], T], seconds: float, what: str) -> T:
    """`wait_until`, asked every 50 ms; a timeout ends the run with its message."""
    try:
        return wait_until(condition, seconds, what, every=0.05)
    except TimeoutError as exc:
        raise SystemExit(str(exc)) from None


def milestone(title: str, spec: dict, deadline: int, amount: int = 10**18, bonus: int = 0, stretch: int = 9200) -> dict:
    """A milestone as the API takes it: target 92.00%, floor 80.00% paying half."""
    return {
        "title": title,
        "spec": spec,
        "amount": str(amount),
        "bonus": str(bonus),
        "floor": "8000",
        "target": "9200",
        "stretch": str(stretch),
        "deadline": deadline,
        "floor_payout_bps": 5000,
    }


def agreement_body(chain: AnvilChain, title: str, specs: list[dict]) -> dict:
    """An agreement between the chain's parties, 2 of its 3 oracles, a milestone per spec due in 30 days."""
    deadline = chain.now() + 30 * 86_400
    return {
        "title": title,
        "client": chain.client.address,
        "provider": chain.provider.address,
        "arbiter": chain.arbiter.address,
        "oracles": [o.address for o in chain.oracles],
        "threshold": 2,
        "milestones": [milestone(f"milestone {i}", spec, deadline) for i, spec in enumerate(specs)],
    }


def funded_agreements(api: BackendClient, chain: AnvilChain, bodies: list[dict]) -> list[dict]:
    """The agreement of each body, consented by the chain's client and provider and funded by the
    client, once the API reads them all active (the fundings indexed)."""
    agreements = []
    for body in bodies:
        agreement = api.consented_agreement(body, chain.client.key, chain.provider.key)
        api.act(chain.w3, chain.client.key, f"/v1/agreements/{agreement['id']}/transactions/fund")
        agreements.append(agreement)
    reader = api.wallet(chain.client.key)
    wait(
        lambda: all(
            api.request("GET", f"/v1/agreements/{a['id']}", headers=reader)["status"] == "active" for a in agreements
        ),
        60,
        "the fundings indexed",
    )
    return agreements


def predictions(path: Path, rows: int, right: int) -> None:
    """A model's predictions.jsonl of `rows` rows, the first `right` of them right."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f'{{"time":1,"prediction":1,"label":{int(i < right)}}}\n' for i in range(rows)))


class UnanchoredAge:
    """Samples each oracle node's oldest unanchored attestation every 0.5 s until `stop` is set, and
    keeps the greatest age seen; a node that does not answer (stopped or restarting) is skipped."""

    def __init__(self, urls: list[str]) -> None:
        self.urls, self.max_age, self.stop = urls, 0.0, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            for url in self.urls:
                try:
                    oldest = httpx.get(url + "/healthz", timeout=2).json()["oldest_unanchored_at"]
                except (httpx.HTTPError, ValueError):
                    continue
                if oldest is not None:
                    self.max_age = max(self.max_age, time.time() - oldest)


def write_results(name: str, result: dict) -> None:
    """`result` as JSON in bench/results/`name`.json and on stdout."""
    path = ROOT / "bench" / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
