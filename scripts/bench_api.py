"""API benchmark: requests per second and latency at 50 concurrent clients against uvicorn with
PostgreSQL, beside a bare FastAPI endpoint as the ceiling, served by the same uvicorn processes.

Phases, each for a fixed time after a warm-up:
- the bare endpoint and reads (an agreement with its milestones and consents, among 100 proposed
  agreements), alternating, three times each: the ceiling and the reads are the means;
- writes (new drafts) and attestation intake (new attestations on random agreements, each
  signature verified against the agreement's oracle set);
- reads of agreements with 1, 10 and 100 milestones;
- once 10,000 agreements exist: reads, writes and intake again, among all of them.

The server and this load generator share the machine. Writes bench/results/api.json."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from bench_support import OPERATOR_KEY, fresh_schema, milestone, write_results
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi import FastAPI
from siwe import SiweMessage

from attestpay import typed_data
from attestpay.devstack import MODEL_ACCURACY_SPEC
from attestpay.terms import Attestation
from backend.api.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "attestpay_bench"
CLIENTS = 50
SECONDS = float(os.environ.get("ATTESTPAY_BENCH_SECONDS", "6"))
WARMUP = 1.0
AGREEMENTS = 100  # reads, writes and intake run among these, then again among GROWN
GROWN = 10_000
MILESTONES = (1, 10, 100)  # reads of agreements with this many milestones
ROUNDS = 3  # of the bare endpoint and reads, alternating
WORKERS = str(2 * (os.cpu_count() or 1))  # two uvicorn workers per core (one waits on PostgreSQL while the other runs)


def bare_endpoint() -> dict:
    """The ceiling: a sync endpoint (as the backend's are) that returns a constant."""
    return {"status": "ok"}


def app_with_ceiling() -> FastAPI:
    """The backend from the environment's settings, plus the bare endpoint."""
    app = create_app()
    app.add_api_route("/bare", bare_endpoint)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def uvicorn(app: str, env: dict[str, str], *extra: str):
    """uvicorn (WORKERS workers, uvloop and httptools) serving `app`; yields its base URL once
    every worker answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--workers",
        WORKERS,
        *extra,
    ]
    process = subprocess.Popen(command, env=os.environ | env, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"uvicorn {app} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def load(session: aiohttp.ClientSession, requests) -> dict:
    """CLIENTS concurrent clients, each sending the next request as soon as its last is answered,
    for SECONDS after WARMUP; every answer must be a success."""
    latencies: list[float] = []
    counting_from = time.perf_counter() + WARMUP
    stop = counting_from + SECONDS

    async def client() -> None:
        while (start := time.perf_counter()) < stop:
            method, path, kwargs = requests()
            async with session.request(method, path, **kwargs) as response:
                body = await response.read()
                if response.status >= 300:
                    raise SystemExit(f"{method} {path}: {response.status} {body[:300]!r}")
            if start >= counting_from:
                latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    latencies.sort()
    return {
        "per_s": round(len(latencies) / SECONDS),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


async def sign_in(session: aiohttp.ClientSession, account, domain: str, chain_id: int) -> dict:
    async with session.post("/v1/auth/nonce") as response:
        nonce = (await response.json())["nonce"]
    issued = datetime.now(UTC)
    message = SiweMessage(
        domain=domain,
        address=account.address,
        uri=f"http://{domain}",
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=issued.isoformat().replace("+00:00", "Z"),
        expiration_time=(issued + timedelta(minutes=10)).isoformat().replace("+00:00", "Z"),
    ).prepare_message()
    signature = "0x" + Account.sign_message(encode_defunct(text=message), account.key).signature.hex()
    async with session.post("/v1/auth/sign-in", json={"message": message, "signature": signature}) as response:
        return {"Authorization": f"Bearer {(await response.json())['token']}"}


def agreement_body(client, provider, oracles, deadline: int, n: int, milestones: int = 3) -> dict:
    return {
        "title": f"benchmark agreement {n}",
        "client": client.address,
        "provider": provider.address,
        "oracles": [o.address for o in oracles],
        "threshold": 2,
        "milestones": [
            milestone(f"milestone {i}", MODEL_ACCURACY_SPEC, deadline, amount=10**20, bonus=10**19, stretch=9600)
            for i in range(milestones)
        ],
    }


async def backend_phases(base: str) -> dict:
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=CLIENTS)) as session:
        async with session.get("/healthz") as response:
            health = await response.json()
        chain_id, escrow = health["chainId"], health["escrow"]
        client, provider = Account.create(), Account.create()
        oracles = sorted((Account.create() for _ in range(3)), key=lambda a: int(a.address, 16))
        wallet = await sign_in(session, client, "localhost:8000", chain_id)
        deadline = int(time.time()) + 30 * 86_400
        numbers = iter(range(10**9))

        def draft(milestones: int = 3) -> dict:
            return agreement_body(client, provider, oracles, deadline, next(numbers), milestones)

        async with session.post(
            "/v1/api-keys", json={"name": "bench-oracle", "role": "oracle"}, headers={"X-API-Key": OPERATOR_KEY}
        ) as r:
            oracle_key = {"X-API-Key": (await r.json())["key"]}

        def read(agreements: list[dict]):
            return lambda: ("GET", f"/v1/agreements/{random.choice(agreements)['id']}", {"headers": wallet})

        async def writes_and_intake(agreements: list[dict]) -> dict:
            """New drafts, then attestations on random `agreements`."""
            pushes = iter(signed_pushes(agreements, oracles, chain_id, escrow))
            return {
                "writes": await load(session, lambda: ("POST", "/v1/agreements", {"headers": wallet, "json": draft()})),
                "intake": await load(
                    session, lambda: ("POST", "/v1/attestations", {"headers": oracle_key, "json": next(pushes)})
                ),
            }

        proposed = await propose(session, wallet, [draft() for _ in range(AGREEMENTS)])
        rounds = []  # the ceiling and the reads alternate, so that both see the machine alike
        for _ in range(ROUNDS):
            rounds.append((await load(session, lambda: ("GET", "/bare", {})), await load(session, read(proposed))))
        first = {"reads": mean_of([r for _, r in rounds])} | await writes_and_intake(proposed)
        by_milestones = {}
        for count in MILESTONES:
            some = await propose(session, wallet, [draft(count) for _ in range(20)])
            by_milestones[count] = await load(session, read(some))
        async with session.get("/v1/agreements", headers=wallet) as response:
            existing = len(await response.json())
        grown = await propose(session, wallet, [draft() for _ in range(GROWN - existing)])
        at_grown = {"reads": await load(session, read(grown + proposed))} | await writes_and_intake(grown + proposed)
    return {"bare": mean_of([b for b, _ in rounds]), "first": first, "grown": at_grown, "by_milestones": by_milestones}


def mean_of(results: list[dict]) -> dict:
    """The mean of each figure of `load` results (requests per second whole, latencies in 0.01 ms)."""
    means = {k: sum(r[k] for r in results) / len(results) for k in results[0]}
    return {k: round(v) if k == "per_s" else round(v, 2) for k, v in means.items()}


async def propose(session: aiohttp.ClientSession, wallet: dict, bodies: list[dict]) -> list[dict]:
    """Drafts and proposes each body (CLIENTS at a time, untimed); returns the proposed agreements."""
    todo, out = iter(bodies), []

    async def client() -> None:
        for body in todo:
            async with session.post("/v1/agreements", json=body, headers=wallet) as response:
                created = await response.json()
            async with session.post(f"/v1/agreements/{created['id']}/propose", headers=wallet) as response:
                if response.status != 200:
                    raise SystemExit(f"proposing: {response.status} {(await response.read())[:300]!r}")
                agreement = await response.json()
            out.append(
                {
                    "id": agreement["id"],
                    "agreement_id": agreement["agreement_id"],
                    "metric_ids": [m["metric_id"] for m in agreement["milestones"][:3]],
                }
            )

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return out


def signed_pushes(agreements: list[dict], oracles, chain_id: int, escrow: str, count: int = 15_000) -> list[dict]:
    """Distinct attestations on random agreements, each pushed by one oracle as the oracle service
    does; signed before the clock starts."""
    out = []
    for i in range(count):
        agreement = random.choice(agreements)
        att = Attestation(
            bytes.fromhex(agreement["agreement_id"][2:]),
            i % 3,
            bytes.fromhex(agreement["metric_ids"][i % 3][2:]),
            8000 + i % 2000,
            1_800_000_000 + i,
            random.randbytes(32),
            1_900_000_000,
        )
        digest = typed_data.attestation_digest(att, chain_id, escrow)
        oracle = oracles[i % len(oracles)]
        message = att.to_json()
        out.append(
            {
                "attestation": message,
                "digest": "0x" + digest.hex(),
                "signer": oracle.address,
                "signature": "0x" + typed_data.sign(oracle.key, digest).hex(),
            }
        )
    return out


def main() -> None:
    env = {
        "ATTESTPAY_DATABASE_URL": fresh_schema(SCHEMA),
        "ATTESTPAY_OPERATOR_API_KEY": OPERATOR_KEY,
        "ATTESTPAY_WRITES_PER_MINUTE": str(10**9),
        "ATTESTPAY_SIGN_INS_PER_MINUTE": str(10**9),
    }
    with uvicorn("bench_api:app_with_ceiling", env, "--factory", "--app-dir", str(ROOT / "scripts")) as base:
        phases = asyncio.run(backend_phases(base))
    ceiling, first, grown = phases["bare"], phases["first"], phases["grown"]
    result = {
        "clients": CLIENTS,
        "seconds_per_phase": SECONDS,
        "database": "postgresql",
        "server": f"uvicorn, {WORKERS} workers, uvloop, httptools",
        "bare_per_s": round(ceiling["per_s"]),
        "bare_p99_ms": round(ceiling["p99_ms"], 2),
        "reads_per_s": first["reads"]["per_s"],
        "read_p50_ms": first["reads"]["p50_ms"],
        "read_p99_ms": first["reads"]["p99_ms"],
        "writes_per_s": first["writes"]["per_s"],
        "write_p50_ms": first["writes"]["p50_ms"],
        "write_p99_ms": first["writes"]["p99_ms"],
        "intake_per_s": first["intake"]["per_s"],
        "intake_p50_ms": first["intake"]["p50_ms"],
        "intake_p99_ms": first["intake"]["p99_ms"],
    }
    for name, key in (("reads", "read"), ("writes", "write"), ("intake", "intake")):
        result[f"{name}_per_s_at_{GROWN}_agreements"] = grown[name]["per_s"]
        result[f"{key}_p50_ms_at_{GROWN}_agreements"] = grown[name]["p50_ms"]
        result[f"{key}_p99_ms_at_{GROWN}_agreements"] = grown[name]["p99_ms"]
        result[f"{key}_p50_growth_{AGREEMENTS}_to_{GROWN}_agreements"] = round(
            grown[name]["p50_ms"] / first[name]["p50_ms"], 3
        )
    for count, figures in phases["by_milestones"].items():
        result[f"reads_per_s_with_{count}_milestones"] = figures["per_s"]
        result[f"read_p50_ms_with_{count}_milestones"] = figures["p50_ms"]
    result["reads_vs_bare"] = round(result["reads_per_s"] / result["bare_per_s"], 3)
    write_results("api", result)
    print(
        f"reads {result['reads_vs_bare']:.0%} of the bare ceiling (target >= 40%); "
        f"intake {result['intake_per_s']}/s (target >= 300); "
        f"p99 read {result['read_p99_ms']} ms, write {result['write_p99_ms']} ms (target < 100)"
    )


if __name__ == "__main__":
    main()
