"""A local stack on anvil (`attestpay.devchain`) for the soak run and the tests: the backend's API
(uvicorn) and workers as processes on one database, and a JSON-RPC proxy that misbehaves."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
from eth_account import Account
from eth_typing import HexStr

from attestpay.devchain import AnvilChain, free_port
from attestpay.local_http import LocalServer, QuietHandler
from attestpay.terms import Milestone

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
# The metric the benchmarks, the soak and the tests measure: a model's accuracy over predictions.jsonl.
MODEL_ACCURACY_SPEC = {
    "name": "model accuracy",
    "version": 1,
    "unit": "fraction",
    "decimals": 4,
    "higher_is_better": True,
    "source": {"kind": "model_eval", "path": "predictions.jsonl", "metric": "accuracy"},
}


def accuracy_milestone(**changes) -> Milestone:
    """The milestone the benchmarks and tests pay, by MODEL_ACCURACY_SPEC's four decimals: 100 tokens
    (18 decimals) at 92.00%, half of it at 80.00%, a stretch at 96.00%, 1% a day late up to 10%.
    `changes` names the deadline, the metric id and whatever else a caller's case needs."""
    terms = {
        "amount": 100 * 10**18,
        "floor": 8000,
        "target": 9200,
        "stretch": 9600,
        "floor_payout_bps": 5000,
        "late_penalty_bps_per_day": 100,
        "max_late_penalty_bps": 1000,
    }
    return Milestone.with_defaults(**(terms | changes))


def service_env(
    chain: AnvilChain, workdir: Path, database_url: str, keystore: str, password: str, **extra: str
) -> dict:
    """The environment of an API replica or a worker on this chain and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTPAY_")}
    return (
        env
        | {
            "ATTESTPAY_ENVIRONMENT": "test",
            "ATTESTPAY_DATABASE_URL": database_url,
            "ATTESTPAY_MIGRATE_ON_START": "false",
            "ATTESTPAY_RPC_URL": chain.url,
            "ATTESTPAY_DEPLOYMENT_FILE": str(chain.deployment(workdir / "deployment.json")),
            "ATTESTPAY_RELAYER_KEYSTORE": keystore,
            "ATTESTPAY_RELAYER_PASSWORD": password,
            "ATTESTPAY_POLL_SECONDS": "0.1",
            "ATTESTPAY_RPC_TIMEOUT_SECONDS": "3",
        }
        | extra
    )


def start_worker(env: dict, log: Path, command: list[str] | None = None) -> subprocess.Popen:
    """`python -m backend.engine worker` (or `command`), logging to `log`."""
    command = command or [sys.executable, "-m", "backend.engine", "worker"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def start_api(env: dict, log: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """uvicorn serving the API on `port` (default: a free one), once /healthz answers."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.api.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-proxy-headers",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    return process, _healthy(process, f"http://127.0.0.1:{port}", log, "the API")


def _healthy(process: subprocess.Popen, url: str, log: Path, what: str) -> str:
    """`url` once its /healthz answers; `what` exited or never answered (30 s): a RuntimeError with its log."""
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def wait_until(condition: Callable[[], T], seconds: float, what: str, every: float = 0.1) -> T:
    """`condition()`'s first truthy answer, asked every `every` s; after `seconds`, a TimeoutError naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {seconds} s")


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


class FaultyRpc(LocalServer):
    """A JSON-RPC proxy in front of anvil that misbehaves on a share of the calls, as networks and
    providers do: a reply too late (after the client's timeout, the call still reaches anvil), a
    connection dropped before or after anvil ran the call, an HTTP 502, a JSON-RPC internal error."""

    FAULTS = (("late", 0.03), ("drop_before", 0.08), ("drop_after", 0.08), ("http_502", 0.05), ("rpc_error", 0.05))

    def __init__(self, upstream: str, late_seconds: float, seed: int = 7) -> None:
        rng, lock, proxy = random.Random(seed), threading.Lock(), self
        self.counts: dict[str, int] = {}

        def pick() -> str:
            with lock:
                roll, edge = rng.random(), 0.0
                for fault, share in proxy.FAULTS:
                    edge += share
                    if roll < edge:
                        proxy.counts[fault] = proxy.counts.get(fault, 0) + 1
                        return fault
                proxy.counts["ok"] = proxy.counts.get("ok", 0) + 1
                return "ok"

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fault = pick()
                if fault == "drop_before":
                    self.close_connection = True
                    return
                if fault == "http_502":
                    self._reply(502, b"bad gateway")
                    return
                if fault == "rpc_error":
                    request = json.loads(body)
                    self._reply(
                        200,
                        json.dumps(
                            {
                                "jsonrpc": "2.0",
                                "id": request.get("id"),
                                "error": {"code": -32603, "message": "internal error"},
                            }
                        ).encode(),
                    )
                    return
                if fault == "late":
                    time.sleep(late_seconds)
                answer = httpx.post(upstream, content=body, headers={"Content-Type": "application/json"}, timeout=30)
                if fault == "drop_after":
                    self.close_connection = True
                    return
                self._reply(answer.status_code, answer.content)

            def _reply(self, status: int, content: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up on a late reply
                    pass

        super().__init__(Handler)


NODE_PASSWORD = "oracle-node-keystore-password"


def start_oracle_node(
    workdir: Path, private_key: str, chain_id: int, escrow: str, api_key: str, port: int | None = None, **extra: str
) -> tuple[subprocess.Popen, str]:
    """An oracle node as its operator runs it (`attestpay-oracle serve`): its data in
    `workdir/data`, its own evidence store, anchoring queue and encrypted keystore, secrets in the
    environment and files only. Returns the process and its URL once it answers; start it again
    with the same `workdir` and `port` to restart it. `extra`: more ORACLE_* settings."""
    workdir.mkdir(parents=True, exist_ok=True)
    keystore, password = workdir / "keystore.json", workdir / "password"
    if not keystore.exists():
        keystore.write_text(
            json.dumps(Account.encrypt(HexStr(private_key), NODE_PASSWORD, kdf="pbkdf2", iterations=1_000))
        )
    password.write_text(NODE_PASSWORD + "\n")
    port = port or free_port()
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("ORACLE_")}
        | {
            "ORACLE_API_KEY": api_key,
            "ORACLE_KEYSTORE": str(keystore),
            "ORACLE_PASSWORD_FILE": str(password),
            "ORACLE_ESCROW": escrow,
            "ORACLE_CHAIN_ID": str(chain_id),
            "ORACLE_DATA_DIR": str(workdir / "data"),
            "ORACLE_EVIDENCE_DIR": str(workdir / "evidence"),
            "ORACLE_QUEUE_DIR": str(workdir / "queue"),
        }
        | extra
    )
    command = [str(Path(sys.executable).parent / "attestpay-oracle"), "serve", "--port", str(port)]
    log = workdir / "node.log"
    process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    return process, _healthy(process, f"http://127.0.0.1:{port}", log, "the oracle node")
