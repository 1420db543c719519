"""Chain engine benchmark on anvil with 1-second blocks and PostgreSQL, with the API and two
workers as their own processes (as deployed):
- intake to settlement: an attestation meeting the target is pushed to the API; counted in blocks
  from the head at intake to the block of the relayer's confirmed settlement (target: 2);
- settlements per minute: 100 qualifying attestations pushed at once, settled by the two workers;
- indexer catch-up: 10,000 blocks with an event every 500 (a fresh database, one indexer, its
  eth_getLogs ranges adapting), on a second anvil that mines on demand.
Writes bench/results/chain.json."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy
from eth_account import Account

from attestpay import typed_data
from attestpay.devchain import AnvilChain, free_port, start_anvil
from attestpay.devstack import MODEL_ACCURACY_SPEC
from attestpay.terms import Attestation
from backend.chain import connect
from backend.client import BackendClient
from backend.db.migrate import upgrade
from backend.db.session import make_engine
from backend.engine.indexer import Indexer
from backend.services.sessions import make_sessionmaker
from backend.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "chain.json"
POSTGRES = os.environ.get("ATTESTPAY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OPERATOR_KEY = "bench-operator-key-0123456789abcdef0123"
PASSWORD = "bench-relayer-password"
LATENCY_SAMPLES = 10
THROUGHPUT_MILESTONES = 100
INDEXED_BLOCKS = 10_000
EVENT_EVERY = 500
SPEC = MODEL_ACCURACY_SPEC


def fresh_database(schema: str) -> str:
    engine = sqlalchemy.create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url


def agreement_body(chain: AnvilChain, n: int, milestones: int) -> dict:
    deadline = chain.now() + 30 * 86_400
    return {
        "title": f"benchmark agreement {n}",
        "client": chain.client.address,
        "provider": chain.provider.address,
        "arbiter": chain.arbiter.address,
        "oracles": [o.address for o in chain.oracles],
        "threshold": 2,
        "milestones": [
            {
                "title": f"milestone {i}",
                "spec": SPEC,
                "amount": str(10**18),
                "bonus": "0",
                "floor": "8000",
                "target": "9200",
                "stretch": "9200",
                "deadline": deadline,
                "floor_payout_bps": 5000,
            }
            for i in range(milestones)
        ],
    }


def pushes(chain: AnvilChain, agreement: dict, index: int) -> list[dict]:
    """Both oracles' signed pushes of a value past the target, observed at the chain's time."""
    att = Attestation(
        bytes.fromhex(agreement["agreement_id"][2:]),
        index,
        bytes.fromhex(agreement["milestones"][index]["metric_id"][2:]),
        9700,
        chain.now(),
        b"\x11" * 32,
        chain.now() + 86_400,
    )
    digest = typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
    message = att.to_json()
    return [
        {
            "attestation": message,
            "digest": "0x" + digest.hex(),
            "signer": o.address,
            "signature": "0x" + typed_data.sign(o.key, digest).hex(),
        }
        for o in chain.oracles[:2]
    ]


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def confirmed_intents(api: BackendClient, headers: dict, pks: list[int]) -> list[dict]:
    return [
        i
        for pk in pks
        for i in api.request("GET", f"/v1/agreements/{pk}/intents", headers=headers)
        if i["status"] == "confirmed"
    ]


def wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise SystemExit(f"{what} did not happen within {seconds} s")


def settlement_figures(workdir: Path) -> dict:
    chain = start_anvil("--block-time", "1")
    processes = []
    try:
        keystore = workdir / "relayer.json"
        keystore.write_text(json.dumps(Account.encrypt(chain.relayer.key, PASSWORD)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTPAY_")} | {
            "ATTESTPAY_ENVIRONMENT": "test",
            "ATTESTPAY_DATABASE_URL": fresh_database("attestpay_bench_chain"),
            "ATTESTPAY_MIGRATE_ON_START": "false",
            "ATTESTPAY_RPC_URL": chain.url,
            "ATTESTPAY_DEPLOYMENT_FILE": str(chain.deployment(workdir / "deployment.json")),
            "ATTESTPAY_RELAYER_KEYSTORE": str(keystore),
            "ATTESTPAY_RELAYER_PASSWORD": PASSWORD,
            "ATTESTPAY_POLL_SECONDS": "0.05",
            "ATTESTPAY_OPERATOR_API_KEY": OPERATOR_KEY,
            "ATTESTPAY_WRITES_PER_MINUTE": str(10**9),
            "ATTESTPAY_SIGN_INS_PER_MINUTE": str(10**9),
        }
        port = free_port()
        processes.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "backend.api.app:create_app",
                    "--factory",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env,
                workdir / "api.log",
            )
        )
        api = BackendClient(f"http://127.0.0.1:{port}")
        wait(lambda: _answers(api), 60, "the API start")
        processes += [
            start([sys.executable, "-m", "backend.engine", "worker"], env, workdir / f"worker{n}.log") for n in range(2)
        ]
        oracle = {
            "X-API-Key": api.request(
                "POST",
                "/v1/api-keys",
                json={"name": "bench-oracle", "role": "oracle"},
                headers={"X-API-Key": OPERATOR_KEY},
            )["key"]
        }
        agreements = []
        for n in range(1 + THROUGHPUT_MILESTONES // 10):
            milestones = LATENCY_SAMPLES if n == 0 else 10
            agreement = api.consented_agreement(
                agreement_body(chain, n, milestones), chain.client.key, chain.provider.key
            )
            api.act(chain.w3, chain.client.key, f"/v1/agreements/{agreement['id']}/transactions/fund")
            agreements.append(agreement)
        reader = api.wallet(chain.client.key)
        wait(
            lambda: all(
                api.request("GET", f"/v1/agreements/{a['id']}", headers=reader)["status"] == "active"
                for a in agreements
            ),
            60,
            "the fundings indexed",
        )

        latencies = []
        first = agreements[0]
        for index in range(LATENCY_SAMPLES):
            bodies = pushes(chain, first, index)
            for body in bodies:
                api.request("POST", "/v1/attestations", json=body, headers=oracle)
            intake_block = chain.w3.eth.block_number
            (settled,) = wait(
                lambda i=index: [x for x in confirmed_intents(api, reader, [first["id"]]) if x["milestone_index"] == i],
                30,
                f"settlement of milestone {index}",
            )
            latencies.append(settled["mined_block"] - intake_block)

        rest = agreements[1:]
        bodies = [body for a in rest for index in range(10) for body in pushes(chain, a, index)]
        started = time.perf_counter()
        for body in bodies:
            api.request("POST", "/v1/attestations", json=body, headers=oracle)
        pks = [a["id"] for a in rest]
        wait(lambda: len(confirmed_intents(api, reader, pks)) == THROUGHPUT_MILESTONES, 300, "the settlements")
        elapsed = time.perf_counter() - started
        return {
            "intake_to_settled_blocks": max(latencies),
            "intake_to_settled_blocks_median": statistics.median(latencies),
            "settlements_per_min": round(THROUGHPUT_MILESTONES / elapsed * 60),
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        chain.stop()


def _answers(api: BackendClient) -> bool:
    try:
        return api.request("GET", "/healthz")["status"] == "ok"
    except Exception:  # not listening yet
        return False


def indexer_figures(workdir: Path) -> dict:
    chain = start_anvil()
    try:
        sender = chain.w3.eth.accounts[0]
        for n in range(INDEXED_BLOCKS // EVENT_EVERY):
            chain.mine(EVENT_EVERY - 1)
            chain.registry.functions.anchor((n + 1).to_bytes(32, "big"), 1, f"bench:{n}").transact({"from": sender})
        settings = Settings(
            environment="test",
            database_url=fresh_database("attestpay_bench_indexer"),
            rpc_url=chain.url,
            deployment_file=chain.deployment(workdir / "deployment.json"),
        )
        indexer = Indexer(make_sessionmaker(make_engine(settings.database_url)), connect(settings), settings)
        started = time.perf_counter()
        blocks = indexer.catch_up()
        elapsed = time.perf_counter() - started
        return {
            "indexer_blocks": blocks,
            "indexer_seconds": round(elapsed, 3),
            "indexer_blocks_per_s": round(blocks / elapsed),
        }
    finally:
        chain.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        result = {
            "chain": "anvil, 1-second blocks (settlements); mined on demand (indexer)",
            "workers": 2,
            "database": "postgresql",
        }
        result |= settlement_figures(workdir)
        result |= indexer_figures(workdir)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(
        f"intake to settled: {result['intake_to_settled_blocks']} blocks at most (target <= 2); "
        f"indexer {result['indexer_blocks_per_s']} blocks/s (target >= 2,000); "
        f"{result['settlements_per_min']} settlements/min"
    )


if __name__ == "__main__":
    main()
