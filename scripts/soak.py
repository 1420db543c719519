"""Soak and faults: the whole system on anvil and PostgreSQL with 2 API replicas and 2 workers (both
reach the chain through a JSON-RPC proxy that delays, errors and drops a share of calls),
under a random mix of agreement lifecycles driven through the API and the parties' own wallets
for a fixed time (and at most a number of lifecycles), while faults are injected on a schedule:
a worker killed and restarted, PostgreSQL restarted (later, every database connection dropped),
a chain reorganisation, an oracle node killed and restarted, two oracle nodes disagreeing for a
while (`scripts/soak_oracles.py`: three node processes that anchor by themselves, and a driver
asking them for releases all along). A supervisor restarts a worker that exits, as a process manager would,
and counts it.

Then, once the workers have drained, every invariant is checked: the independent audit passes
(the formula, signatures, each agreement conserving its funds, the escrow covering what it owes),
no milestone is paid twice, the database equals the chain, no intent is lost, no attestation is
left unanchored past the nodes' window, and every disagreement of the nodes is flagged. The run prints
the load it held (operations per second, latency percentiles) and the faults it survived; exit
status 0 when every invariant holds.

    python scripts/soak.py [--seconds 120] [--lifecycles 5000] [--drivers 4]     (make soak)"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import sqlalchemy
from bench_support import fresh_schema, milestone, relayer_keystore
from eth_account import Account
from soak_oracles import Nodes, invariants as oracle_invariants, node_settings, release_lane
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

import auditor
from attestpay import payout, typed_data
from attestpay.contracts import deploy
from attestpay.devchain import AnvilChain, dev_party, start_anvil
from attestpay.devstack import MODEL_ACCURACY_SPEC, FaultyRpc, service_env, start_api, start_worker, stop
from attestpay.terms import Attestation
from backend.client import ApiError, BackendClient, send
from backend.db.migrate import upgrade
from backend.db.models import ChainEvent, IndexerCursor, MilestoneRecord, RelayIntent, ReleaseRequest

POSTGRES = os.environ.get("ATTESTPAY_SOAK_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "attestpay_soak"
OPERATOR_KEY = "soak-operator-key-0123456789abcdef0123456789"
PASSWORD = "soak-relayer-password"
DAY = 86_400
STATUS = {
    "open": 0,
    "disputed": 1,
    "settled": 2,
    "reclaimed": 3,
    "resolved": 3,
}  # the escrow's MilestoneStatus (Closed: 3)
LIFECYCLES = ("settle", "partial", "dispute", "reclaim", "withdraw")
FINAL = {"confirmed", "failed", "superseded"}


class Load:
    """Operation latencies and outcomes, from every driver thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: Counter = Counter()
        self.started = 0

    def timed(self, name: str, operation):
        start = time.perf_counter()
        result = operation()
        with self.lock:
            self.latencies[name].append(time.perf_counter() - start)
        return result

    def start_one(self, limit: int) -> bool:
        """Whether another lifecycle may start (at most `limit` in the run)."""
        with self.lock:
            self.started += 1
            return self.started <= limit

    def count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1


class Driver:
    """One thread of lifecycles with its own client, provider and arbiter wallets (so their
    transaction nonces are theirs alone), against a random API replica each time."""

    def __init__(
        self, n: int, chain: AnvilChain, blocking, apis: list[str], oracle_key: str, load: Load, rng: random.Random
    ) -> None:
        self.chain, self.blocking, self.load, self.rng, self.oracle_key = chain, blocking, load, rng, oracle_key
        self.client, self.provider, self.arbiter = (dev_party(20 + 3 * n + i) for i in range(3))
        self.apis = [BackendClient(url) for url in apis]

    def api(self) -> BackendClient:
        return self.rng.choice(self.apis)

    def retried(self, name: str, operation, attempts: int = 6):
        """An API call, retried while the service answers 5xx or not at all (a database restart)."""
        for attempt in range(attempts):
            try:
                return self.load.timed(name, operation)
            except ApiError as exc:
                if exc.status < 500 or attempt == attempts - 1:
                    raise
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
            time.sleep(0.5 * (attempt + 1))

    def act(self, party, path: str, body: dict | None = None) -> None:
        """A wallet's action: the API prepares, the wallet sends (never twice), the API is told."""
        api = self.api()
        prepared = self.retried("prepare", lambda: api.request("POST", path, json=body, headers=api.wallet(party.key)))
        escrow = self.chain.escrow.address
        for tx in prepared["transactions"]:
            tx_hash = self.load.timed("wallet send", lambda tx=tx: send(self.chain.w3, party.key, tx))
            if tx["to"] == escrow:
                self.retried(
                    "record",
                    lambda tx_hash=tx_hash: api.request(
                        "POST", "/v1/transactions", json={"tx_hash": tx_hash}, headers=api.wallet(party.key)
                    ),
                )

    def push(self, agreement: dict, value: int) -> str:
        """Two oracles' signatures of `value`, as their services push them."""
        now = self.chain.now()
        att = Attestation(
            bytes.fromhex(agreement["agreement_id"][2:]),
            0,
            bytes.fromhex(agreement["milestones"][0]["metric_id"][2:]),
            value,
            now,
            self.rng.randbytes(32),
            now + DAY,
        )
        digest = typed_data.attestation_digest(att, self.chain.chain_id, self.chain.escrow.address)
        message = att.to_json()
        for oracle in self.chain.oracles[:2]:
            body = {
                "attestation": message,
                "signer": oracle.address,
                "signature": "0x" + typed_data.sign(oracle.key, digest).hex(),
            }
            self.retried(
                "attestation intake",
                lambda body=body: self.api().request(
                    "POST", "/v1/attestations", json=body, headers={"X-API-Key": self.oracle_key}
                ),
            )
        return "0x" + digest.hex()

    def funded(self, body: dict) -> tuple[BackendClient, dict]:
        """The agreement `body` proposes, consented by both parties and funded by the client's wallet,
        and the API replica that created it."""
        api = self.api()
        agreement = self.retried(
            "create and consent", lambda: api.consented_agreement(body, self.client.key, self.provider.key)
        )
        self.act(self.client, f"/v1/agreements/{agreement['id']}/transactions/fund")
        return api, agreement

    def lifecycle(self, kind: str) -> None:
        # withdraw: paid in a token that refuses the provider, so its payment is credited, then withdrawn elsewhere
        token = self.blocking.address if kind == "withdraw" else self.rng.choice([None, self.chain.token.address])
        reclaim = kind == "reclaim"
        body = {
            "title": f"soak {kind}",
            "client": self.client.address,
            "provider": self.provider.address,
            "arbiter": self.arbiter.address,
            "token": token,
            "oracles": [o.address for o in self.chain.oracles],
            "threshold": 2,
            "cure_window": 0 if reclaim else 7 * DAY,
            "milestones": [
                milestone(
                    "accuracy", SPEC, self.chain.now() + (10 if reclaim else 30 * DAY), bonus=10**17, stretch=9600
                )
            ],
        }
        _, agreement = self.funded(body)
        base = f"/v1/agreements/{agreement['id']}"
        if kind == "settle":
            self.push(agreement, 9_700)  # automation settles it
        elif kind == "withdraw":
            self.blocking.functions.setBlocked(self.provider.address, True).transact({"from": dev_party(0).address})
            try:
                self.push(agreement, 9_700)
                for _ in range(120):  # until the worker settled it and the escrow credited the payment
                    if self.chain.escrow.functions.credits(token, self.provider.address).call():
                        break
                    time.sleep(0.25)
                self.act(self.provider, "/v1/transactions/withdraw", {"token": token, "to": self.arbiter.address})
            finally:
                self.blocking.functions.setBlocked(self.provider.address, False).transact(
                    {"from": dev_party(0).address}
                )
        elif kind == "partial":
            digest = self.push(agreement, 8_600)
            api = self.api()
            data = self.retried(
                "partial acceptance",
                lambda: api.request(
                    "GET",
                    f"{base}/milestones/0/accept-partial",
                    params={"attestation": digest},
                    headers=api.wallet(self.provider.key),
                ),
            )
            signature = (
                "0x" + Account.sign_typed_data(self.provider.key, full_message=data["typed_data"]).signature.hex()
            )
            self.retried(
                "partial acceptance",
                lambda: api.request(
                    "POST",
                    f"{base}/milestones/0/accept-partial",
                    json={"attestation": digest, "signature": signature},
                    headers=api.wallet(self.provider.key),
                ),
            )
        elif kind == "dispute":
            self.act(self.client, f"{base}/transactions/dispute", {"index": 0})
            self.act(
                self.arbiter,
                f"{base}/transactions/resolve-dispute",
                {"index": 0, "provider_share_bps": self.rng.randrange(payout.BPS + 1)},
            )
        else:
            deadline = body["milestones"][0]["deadline"]
            for _ in range(60):  # until the chain's clock passes the deadline (the cure window is 0)
                if self.chain.now() > deadline:
                    break
                time.sleep(1)
                self.chain.mine()  # a quiet development chain mines no block by itself
            self.act(self.client, f"{base}/transactions/reclaim", {"index": 0})

    def run(self, until: float, limit: int) -> None:
        while time.monotonic() < until and self.load.start_one(limit):
            kind = self.rng.choice(LIFECYCLES)
            try:
                self.lifecycle(kind)
                self.load.count(f"{kind} done")
            except Exception as exc:  # noqa: BLE001 (a driver must outlive whatever one lifecycle meets)
                # A lifecycle a fault broke (a reverted wallet transaction after a reorganisation,
                # a refusal of a state the chain no longer has): counted, never an invariant.
                self.load.count(f"{kind} cut short ({type(exc).__name__}: {str(exc)[:70]})")


SPEC = MODEL_ACCURACY_SPEC


class Stack:
    """anvil, the database, 2 API replicas and 2 workers behind the faulty RPC proxy, and a supervisor."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.chain = workdir, start_anvil()
        self.database = f"{fresh_schema(SCHEMA, POSTGRES)}&application_name={SCHEMA}"
        upgrade(self.database)
        self.proxy = FaultyRpc(self.chain.url, late_seconds=1.5)
        self.nodes = Nodes(self.chain, workdir)
        self.env = service_env(
            self.chain,
            workdir,
            self.database,
            relayer_keystore(self.chain, workdir, PASSWORD),
            PASSWORD,
            ATTESTPAY_OPERATOR_API_KEY=OPERATOR_KEY,
            ATTESTPAY_SIGN_INS_PER_MINUTE="100000",
            ATTESTPAY_WRITES_PER_MINUTE="100000",
            ATTESTPAY_RPC_URL=self.proxy.url,
            ATTESTPAY_RPC_TIMEOUT_SECONDS="1",
            **node_settings(self.nodes),
        )
        self.apis = [start_api(self.env, workdir / f"api{n}.log") for n in range(2)]
        self.workers = [start_worker(self.env, workdir / f"worker{n}.log") for n in range(2)]
        self.faults: Counter = Counter()

    def supervise(self) -> None:
        """Restarts a worker that exited, as a process manager would (counted: none should)."""
        for n, process in enumerate(self.workers):
            if process.poll() is not None:
                self.faults[f"worker restarted after it exited by itself (status {process.returncode})"] += 1
                self.workers[n] = start_worker(self.env, self.workdir / f"worker{n}.log")

    def kill_worker(self, n: int) -> None:
        self.workers[n].send_signal(signal.SIGKILL)
        self.workers[n].wait()
        self.faults["worker killed (SIGKILL) and restarted"] += 1
        time.sleep(1)
        self.workers[n] = start_worker(self.env, self.workdir / f"worker{n}.log")

    def drop_database_connections(self) -> None:
        engine = sqlalchemy.create_engine(POSTGRES)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND datname = current_database() AND application_name = %(name)s",
                {"name": SCHEMA},
            )
        engine.dispose()
        self.faults["every database connection dropped (a restart as clients see it)"] += 1

    def restart_database(self) -> None:
        """PostgreSQL really restarted (Debian's pg_ctlcluster, for the cluster on the URL's port),
        where this machine lets the run do it; else its connections are terminated, which is what
        a restart does to clients."""
        port = sqlalchemy.engine.make_url(POSTGRES).port or 5432
        clusters = (
            subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
            if shutil.which("pg_lsclusters")
            else None
        )
        mine = [
            line.split()[:2]
            for line in (clusters.stdout.splitlines() if clusters else [])
            if line.split()[2:3] == [str(port)]
        ]
        if (
            mine
            and subprocess.run(["pg_ctlcluster", *mine[0], "restart"], capture_output=True, timeout=120).returncode == 0
        ):
            self.faults["PostgreSQL restarted"] += 1
        else:
            self.drop_database_connections()

    def reorganise(self) -> None:
        """The chain's latest blocks are replaced by others: what was mined in the last seconds is
        gone (the wallets' and the relayer's transactions alike) and new blocks take their heights."""
        snapshot = self.chain.snapshot()
        time.sleep(3)
        dropped = self.chain.w3.eth.block_number
        self.chain.revert(snapshot)
        self.chain.mine(dropped - self.chain.w3.eth.block_number + 1)
        self.faults["chain reorganisation"] += 1

    def stop(self) -> None:
        stop(*self.workers, *(process for process, _ in self.apis))
        self.nodes.close()
        self.proxy.close()
        self.chain.stop()


def faults_on_schedule(stack: Stack, start: float, seconds: float, until: float) -> None:
    schedule = [
        (1 / 6, lambda: stack.kill_worker(0)),
        (1 / 4, lambda: stack.nodes.kill_and_restart(0)),
        (2 / 6, stack.restart_database),
        (0.4, lambda: stack.nodes.disagree(True)),
        (3 / 6, stack.reorganise),
        (4 / 6, lambda: stack.kill_worker(1)),
        (0.7, lambda: stack.nodes.disagree(False)),
        (5 / 6, stack.drop_database_connections),
    ]
    while time.monotonic() < until:
        now = time.monotonic()
        while schedule and now >= start + schedule[0][0] * seconds:
            schedule.pop(0)[1]()
        stack.supervise()
        time.sleep(0.2)


def drain(stack: Stack, sessions, seconds: float = 120) -> None:
    """Until every intent is final, every release request decided (the nodes asked while the load ran
    may still be answering) and the indexer has applied the chain's head."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stack.supervise()
        with sessions() as session:
            open_intents = list(session.scalars(select(RelayIntent).where(RelayIntent.status.not_in(FINAL))))
            measuring = list(session.scalars(select(ReleaseRequest.id).where(ReleaseRequest.status == "measuring")))
            cursor = session.scalar(select(sqlalchemy.func.max(IndexerCursor.block_number)))
        head = stack.chain.w3.eth.block_number
        if not open_intents and not measuring and cursor is not None and cursor >= head:  # the head applied too
            return
        time.sleep(1)
    stuck = [(i.key, i.status, i.nonce, i.attempts, i.error) for i in open_intents]
    raise SystemExit(
        f"the workers did not drain within {seconds:.0f} s: indexer at {cursor} of {stack.chain.w3.eth.block_number}, "
        f"intents not final {stuck}, release requests still measuring {measuring} (logs in {stack.workdir})"
    )


def invariants(stack: Stack, sessions) -> list[tuple[str, bool, str]]:
    chain, out = stack.chain, []
    report = auditor.audit(chain.w3, chain.escrow.address, chain.start_block)
    out.append(
        (
            "the independent audit passes (formula, signatures, conservation, coverage)",
            report["passed"],
            f"{report['settlementsVerified']} settlements of {len(report['agreements'])} agreements; "
            f"{report['failures'][:3]}",
        )
    )
    logs = chain.escrow.events.MilestoneSettled().get_logs(from_block=chain.start_block)
    paid = Counter((log.args.agreementId.hex(), log.args.index) for log in logs)
    out.append(("no milestone paid twice", all(n == 1 for n in paid.values()), f"{len(paid)} milestones settled"))
    with sessions() as session:
        mismatched = []
        for m in session.scalars(select(MilestoneRecord)):
            if m.agreement.agreement_id and m.agreement.status not in ("draft", "proposed", "consented", "cancelled"):
                on_chain = chain.escrow.functions.milestoneStatus(
                    bytes.fromhex(m.agreement.agreement_id[2:]), m.index
                ).call()
                if STATUS[m.status] != on_chain:
                    mismatched.append((m.agreement.id, m.index, m.status, on_chain))
        stored = {
            (e.tx_hash, e.log_index)
            for e in session.scalars(select(ChainEvent).where(ChainEvent.name == "MilestoneSettled"))
        }
        on_chain = {("0x" + log.transactionHash.hex(), log.logIndex) for log in logs}
        out.append(
            (
                "the database equals the chain (milestone states, settlement events)",
                not mismatched and stored == on_chain,
                f"{len(mismatched)} milestones differ {mismatched[:3]}; "
                f"events stored {len(stored)}, on chain {len(on_chain)}",
            )
        )
        intents = list(session.scalars(select(RelayIntent)))
        lost = [i.key for i in intents if i.status not in FINAL or (i.status == "failed" and not i.error)]
        unmined = [
            i.key
            for i in intents
            if i.status == "confirmed" and chain.w3.eth.get_transaction_receipt(i.mined_hash)["status"] != 1
        ]
        kinds = Counter(i.status for i in intents)
        out.append(
            (
                "no intent lost (each final, a failure with its reason, each confirmation on chain)",
                not lost and not unmined,
                f"{dict(kinds)}; lost {lost[:3]}, confirmed but not on chain {unmined[:3]}",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="how long the load runs")
    parser.add_argument("--drivers", type=int, default=4, help="concurrent lifecycles")
    parser.add_argument("--lifecycles", type=int, default=5_000, help="at most this many lifecycles in all")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="attestpay-soak-"))
    stack = Stack(workdir)
    try:
        oracle_key = BackendClient(stack.apis[0][1]).request(
            "POST", "/v1/api-keys", json={"name": "soak-oracles", "role": "oracle"}, headers={"X-API-Key": OPERATOR_KEY}
        )["key"]
        load = Load()
        deployer = dev_party(0).address
        blocking = deploy(stack.chain.w3, "BlocklistToken", sender=deployer)
        drivers = [
            Driver(
                n,
                stack.chain,
                blocking,
                [url for _, url in stack.apis],
                oracle_key,
                load,
                random.Random(args.seed * 100 + n),
            )
            for n in range(args.drivers)
        ]
        releaser = Driver(
            args.drivers,
            stack.chain,
            blocking,
            [url for _, url in stack.apis],
            oracle_key,
            load,
            random.Random(args.seed),
        )
        for d in (*drivers, releaser):
            for party in (d.client, d.provider, d.arbiter):
                stack.chain.w3.eth.send_transaction({"from": deployer, "to": party.address, "value": 100 * 10**18})
            for token in (stack.chain.token, blocking):
                token.functions.mint(d.client.address, 10**24).transact({"from": deployer})
        start = time.monotonic()
        until = start + args.seconds
        threads = [threading.Thread(target=d.run, args=(until, args.lifecycles), daemon=True) for d in drivers]
        threads.append(threading.Thread(target=release_lane, args=(releaser, until), daemon=True))
        for t in threads:
            t.start()
        faults_on_schedule(stack, start, args.seconds, until)
        for t in threads:
            t.join(timeout=120)
        held = time.monotonic() - start
        sessions = sessionmaker(sqlalchemy.create_engine(stack.database))
        drain(stack, sessions)
        checks = invariants(stack, sessions) + oracle_invariants(stack.nodes, sessions)
        stack.faults.update(stack.nodes.faults)
    finally:
        stack.stop()
    print_summary(load, held, stack, checks, workdir)
    return 0 if all(ok for _, ok, _ in checks) else 1


def print_summary(load: Load, held: float, stack: Stack, checks, workdir: Path) -> None:
    operations = sum(len(v) for v in load.latencies.values())
    print(
        f"load held: {operations:,} operations in {held:.0f} s ({operations / held:.1f}/s) "
        "by lifecycles through 2 API replicas"
    )
    for name, values in sorted(load.latencies.items()):
        values = sorted(values)
        print(
            f"  {name:>20}: {len(values):5,}  p50 {statistics.median(values) * 1000:7.1f} ms  "
            f"p99 {values[int(len(values) * 0.99)] * 1000:7.1f} ms"
        )
    print("lifecycles: " + ", ".join(f"{k} {v}" for k, v in sorted(load.outcomes.items())))
    rpc = {k: v for k, v in stack.proxy.counts.items() if k != "ok"}
    print(
        "faults survived: "
        + ", ".join(f"{k} ×{v}" for k, v in stack.faults.items())
        + f"; RPC faults seen by the API replicas and workers {rpc}"
    )
    for name, ok, detail in checks:
        print(f"  [{'ok' if ok else 'FAILED'}] {name}: {detail}")
    print("every invariant holds" if all(ok for _, ok, _ in checks) else "INVARIANTS BROKEN", f"(logs in {workdir})")


if __name__ == "__main__":
    sys.exit(main())
