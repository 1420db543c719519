"""Chain engine benchmark on anvil with 1-second blocks and PostgreSQL, with the API and two
workers as their own processes (as deployed):
- intake to settlement: an attestation meeting the target is pushed to the API; counted in blocks
  from the head at intake to the block of the relayer's confirmed settlement (target: 2);
- settlements per minute: 100 qualifying attestations pushed at once, settled by the two workers;
- indexer catch-up: 10,000 blocks with an event every 500 (a fresh database, one indexer, its
  eth_getLogs ranges adapting), on a second anvil that mines on demand.
Writes bench/results/chain.json."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench_support import (
    OPERATOR_KEY,
    agreement_body,
    fresh_database,
    funded_agreements,
    start_services,
    wait,
    write_results,
)

from attestpay import typed_data
from attestpay.devchain import AnvilChain, start_anvil
from attestpay.devstack import MODEL_ACCURACY_SPEC, stop
from attestpay.terms import Attestation
from backend.chain import connect
from backend.client import BackendClient
from backend.db.session import make_engine
from backend.engine.indexer import Indexer
from backend.services.sessions import make_sessionmaker
from backend.settings import Settings

LATENCY_SAMPLES = 10
THROUGHPUT_MILESTONES = 100
INDEXED_BLOCKS = 10_000
EVENT_EVERY = 500
SPEC = MODEL_ACCURACY_SPEC


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


def confirmed_intents(api: BackendClient, headers: dict, pks: list[int]) -> list[dict]:
    return [
        i
        for pk in pks
        for i in api.request("GET", f"/v1/agreements/{pk}/intents", headers=headers)
        if i["status"] == "confirmed"
    ]


def settlement_figures(workdir: Path) -> dict:
    chain = start_anvil("--block-time", "1")
    processes = []
    try:
        api = start_services(
            chain, workdir, fresh_database("attestpay_bench_chain"), processes, ATTESTPAY_POLL_SECONDS="0.05"
        )
        oracle = {
            "X-API-Key": api.request(
                "POST",
                "/v1/api-keys",
                json={"name": "bench-oracle", "role": "oracle"},
                headers={"X-API-Key": OPERATOR_KEY},
            )["key"]
        }
        bodies = [
            agreement_body(chain, f"benchmark agreement {n}", [SPEC] * (LATENCY_SAMPLES if n == 0 else 10))
            for n in range(1 + THROUGHPUT_MILESTONES // 10)
        ]
        agreements = funded_agreements(api, chain, bodies)
        reader = api.wallet(chain.client.key)

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
        stop(*processes)
        chain.stop()


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
    write_results("chain", result)
    print(
        f"intake to settled: {result['intake_to_settled_blocks']} blocks at most (target <= 2); "
        f"indexer {result['indexer_blocks_per_s']} blocks/s (target >= 2,000); "
        f"{result['settlements_per_min']} settlements/min"
    )


if __name__ == "__main__":
    main()
