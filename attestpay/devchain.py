"""A development chain over JSON-RPC: anvil from npm (Prague, as every build targets) with the
registry, the escrow and a test ERC-20 deployed from anvil's first dev account. Tests, benchmarks
and local runs use it; a deployment file written here is what the backend and oracle read."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from attestpay.contracts import deploy

ROOT = Path(__file__).resolve().parent.parent


def foundry_binary(tool: str) -> Path:
    """The platform binary of a Foundry tool from npm: the wrapper in node_modules/.bin always exits 0
    and, killed, leaves its child running."""
    for binary in sorted(ROOT.glob(f"node_modules/@foundry-rs/{tool}-*/bin/{tool}")):
        return binary
    raise FileNotFoundError(
        f"no {tool} under node_modules/@foundry-rs/{tool}-*/bin; run `make install` ({tool} comes from npm)"
    )


MNEMONIC = "test test test test test test test test test test test junk"  # anvil's dev accounts, funded
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


class Web3Chain:
    """What every chain the tests and tools drive answers through its `w3` alike (anvil here, the
    tests' embedded eth-tester chain): its id and the time of its latest block."""

    w3: Web3

    @property
    def chain_id(self) -> int:
        return self.w3.eth.chain_id

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]


@dataclass
class AnvilChain(Web3Chain):
    """anvil with the contracts; parties are dev accounts: client 1, provider 2, arbiter 3, the
    engine's relayer 9, oracles 5-7 (ascending by address)."""

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
    relayer: Party
    oracles: list[Party]

    def warp(self, timestamp: int) -> None:
        self.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [timestamp])
        self.mine()

    def mine(self, blocks: int = 1) -> None:
        self.w3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(blocks)])

    def snapshot(self) -> str:
        return self.w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"]

    def revert(self, snapshot: str) -> None:
        if self.w3.provider.make_request(RPCEndpoint("evm_revert"), [snapshot])["result"] is not True:
            raise RuntimeError(f"anvil could not revert to snapshot {snapshot}")

    def deployment(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "chainId": self.chain_id,
                    "escrow": self.escrow.address,
                    "registry": self.registry.address,
                    "block": self.start_block,
                }
            )
        )
        return path

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def run_anvil(*args: str) -> tuple[subprocess.Popen, str, Web3]:
    """A bare anvil (Prague; extra command-line `args`) once it answers: its process, URL and Web3."""
    port = free_port()
    process = subprocess.Popen(
        [str(foundry_binary("anvil")), "--port", str(port), "--hardfork", "prague", "--silent", *args]
    )
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(HTTPProvider(url))
    for _ in range(200):
        if w3.is_connected():
            return process, url, w3
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("anvil did not start")


def start_anvil(*args: str) -> AnvilChain:
    """A fresh anvil (extra command-line `args`, such as --block-time 1) with the contracts deployed."""
    process, url, w3 = run_anvil(*args)
    deployer = dev_party(0).address
    start = w3.eth.block_number + 1
    registry = deploy(w3, "AttestationRegistry", sender=deployer)
    escrow = deploy(w3, "MilestoneEscrow", registry.address, sender=deployer)
    token = deploy(w3, "MockERC20", sender=deployer)
    oracles = sorted((dev_party(i) for i in (5, 6, 7)), key=lambda p: int(p.address, 16))
    return AnvilChain(
        process,
        url,
        w3,
        registry,
        escrow,
        token,
        start,
        dev_party(1),
        dev_party(2),
        dev_party(3),
        dev_party(9),
        oracles,
    )
