"""Real chains and real processes for the chain engine's tests: anvil from npm (Prague) with the
contracts deployed, the backend's API (uvicorn) and workers as subprocesses on PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from attestpay.contracts import deploy

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
MNEMONIC = "test test test test test test test test test test test junk"  # anvil's dev accounts
Account.enable_unaudited_hdwallet_features()


@dataclass(frozen=True)
class Party:
    address: str
    key: str


def dev_party(index: int) -> Party:
    account = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return Party(account.address, account.key.to_0x_hex())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AnvilChain:
    """What the embedded test chain offers (conftest's Chain), on anvil over JSON-RPC."""

    process: subprocess.Popen
    url: str
    w3: Web3
    registry: Contract
    escrow: Contract
    token: Contract
    start_block: int
    client: Party
    provider: Party
    arbiter: Party
    relayer: Party  # the engine's key
    oracles: list[Party]

    @property
    def chain_id(self) -> int:
        return self.w3.eth.chain_id

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def warp(self, timestamp: int) -> None:
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
        self.mine()

    def mine(self, blocks: int = 1) -> None:
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])

    def snapshot(self) -> str:
        return self.w3.provider.make_request("evm_snapshot", [])["result"]

    def revert(self, snapshot: str) -> None:
        assert self.w3.provider.make_request("evm_revert", [snapshot])["result"] is True

    def deployment(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "chainId": self.chain_id, "escrow": self.escrow.address, "registry": self.registry.address, "block": self.start_block,
        }))
        return path

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_anvil(*args: str) -> AnvilChain:
    """A fresh anvil with the registry, the escrow and a test ERC-20 deployed."""
    port = free_port()
    process = subprocess.Popen([str(ANVIL), "--port", str(port), "--hardfork", "prague", "--silent", *args])
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(HTTPProvider(url))
    for _ in range(200):
        if w3.is_connected():
            break
        time.sleep(0.05)
    deployer = dev_party(0).address
    start = w3.eth.block_number + 1
    registry = deploy(w3, "AttestationRegistry", sender=deployer)
    escrow = deploy(w3, "MilestoneEscrow", registry.address, sender=deployer)
    token = deploy(w3, "MockERC20", sender=deployer)
    oracles = sorted((dev_party(i) for i in (5, 6, 7)), key=lambda p: int(p.address, 16))
    return AnvilChain(process, url, w3, registry, escrow, token, start, dev_party(1), dev_party(2), dev_party(3), dev_party(9), oracles)


def service_env(chain: AnvilChain, tmp_path: Path, database_url: str, keystore: str, password: str, **extra: str) -> dict:
    """The environment of an API replica or a worker on this chain and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTPAY_")}
    return env | {
        "ATTESTPAY_ENVIRONMENT": "test", "ATTESTPAY_DATABASE_URL": database_url, "ATTESTPAY_MIGRATE_ON_START": "false",
        "ATTESTPAY_RPC_URL": chain.url, "ATTESTPAY_DEPLOYMENT_FILE": str(chain.deployment(tmp_path / "deployment.json")),
        "ATTESTPAY_RELAYER_KEYSTORE": keystore, "ATTESTPAY_RELAYER_PASSWORD": password, "ATTESTPAY_POLL_SECONDS": "0.1",
        "ATTESTPAY_RPC_TIMEOUT_SECONDS": "3",
    } | extra


def start_worker(env: dict, log: Path, crash_at: str | None = None) -> subprocess.Popen:
    """`python -m backend.engine worker`, or the crashing variant that dies at `crash_at`."""
    command = [sys.executable, str(ROOT / "tests" / "crashing_worker.py"), crash_at] if crash_at else [sys.executable, "-m", "backend.engine", "worker"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def start_api(env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "backend.api.app:create_app", "--factory", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise AssertionError(f"the API exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError("the API did not start")


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
