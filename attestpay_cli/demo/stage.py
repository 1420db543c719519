"""The demo's world, in this process and over real HTTP on loopback: the embedded chain
(eth-tester, Prague) with the escrow, the registry, a test ERC-20 and funded wallets; the backend's
API with its worker on SQLite; three oracle nodes measuring the scenarios' evidence, pushing to the
backend and anchoring their batches. Parties act through the API exactly as a wallet would."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from eth_account import Account
from eth_tester import EthereumTester
from web3 import EthereumTesterProvider, Web3

from attestpay import embedded
from attestpay.contracts import deploy
from attestpay.devchain import free_port
from backend.api.app import create_app
from backend.chain import ChainGateway
from backend.client import ApiError, BackendClient
from backend.settings import Settings
from oracle.batcher import AnchorQueue
from oracle.evidence import EvidenceStore
from oracle.node import OracleNode
from oracle.service import BackendPush, create_app as oracle_app
from oracle.signer import OracleSigner

RELAYER_PASSWORD = "demo-relayer-password"  # a throwaway key on a throwaway chain


class DemoFailed(RuntimeError):
    """Something the scenario needs did not happen; the message says what."""


class LockedTesterProvider(EthereumTesterProvider):
    """eth-tester is not thread-safe, and the API, its worker, the oracle nodes and the demo's
    wallets all use it: every request holds the backend's chain lock."""

    def __init__(self, tester: EthereumTester, lock: threading.RLock) -> None:
        super().__init__(tester)
        self.lock = lock

    def make_request(self, method, params):
        with self.lock:
            return super().make_request(method, params)


@dataclass(frozen=True)
class Wallet:
    name: str
    address: str
    key: str


class Served:
    """An ASGI app served by uvicorn on `port` in a thread of this process."""

    def __init__(self, app, port: int | None = None) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port or free_port(), log_level="warning")
        )
        self.url = f"http://127.0.0.1:{self.server.config.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise DemoFailed(f"the server for {self.url} did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Stage:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tester = embedded.tester()
        lock = threading.RLock()
        self.w3 = Web3(LockedTesterProvider(self.tester, lock))
        keys = [k.to_hex() for k in self.tester.backend.account_keys]
        deployer, self.client, self.provider, self.arbiter = (
            Wallet(name, Account.from_key(k).address, k)
            for name, k in zip(("deployer", "client", "provider", "arbiter"), keys, strict=False)
        )
        self.start_block = self.w3.eth.block_number + 1
        registry = deploy(self.w3, "AttestationRegistry", sender=deployer.address)
        self.escrow = deploy(self.w3, "MilestoneEscrow", registry.address, sender=deployer.address)
        self.token = deploy(self.w3, "MockERC20", sender=deployer.address)
        self.token.functions.mint(self.client.address, 10**24).transact({"from": deployer.address})
        # Fiat for invoices and journals: mUSD pegged at 0.92 EUR, ether from a Chainlink-style feed.
        feed = deploy(self.w3, "MockPriceFeed", 8, "ETH / EUR", 2_750 * 10**8, sender=deployer.address)
        prices = {
            self.token.address: {"peg": "0.92", "currency": "EUR"},
            "ETH": {"feed": feed.address, "currency": "EUR"},
        }
        self.chain = ChainGateway(self.w3, self.escrow, registry, self.w3.eth.chain_id, self.start_block, lock)

        self.evidence = EvidenceStore(workdir / "evidence")  # what the oracles publish and the auditor reads
        self.data = workdir / "data"
        self._servers: list[Served] = []
        backend_port, node_ports = free_port(), [free_port() for _ in range(3)]
        operator_key, node_key = secrets.token_hex(24), secrets.token_hex(24)
        self.api = BackendClient(f"http://127.0.0.1:{backend_port}")
        settings = Settings(
            environment="development",
            database_url=f"sqlite:///{workdir / 'attestpay.db'}",
            siwe_domain=f"127.0.0.1:{backend_port}",
            siwe_uri=f"http://127.0.0.1:{backend_port}",
            operator_api_key=operator_key,
            relayer_keystore=self._relayer_keystore(keys[4]),
            relayer_password=RELAYER_PASSWORD,
            poll_seconds=0.05,
            worker_in_process=True,
            oracle_nodes=[f"http://127.0.0.1:{p}" for p in node_ports],
            oracle_node_api_key=node_key,
            evidence_dir=self.evidence.root,
            prices=json.dumps(prices),
        )
        self._servers.append(Served(create_app(settings, self.chain), backend_port))
        push_key = self.api.request(
            "POST", "/v1/api-keys", json={"name": "oracle-nodes", "role": "oracle"}, headers={"X-API-Key": operator_key}
        )["key"]
        self.oracles: list[tuple[OracleNode, AnchorQueue]] = []
        for i, (key, port) in enumerate(zip(keys[5:8], node_ports, strict=False)):
            node = OracleNode(
                OracleSigner.from_dev_key(key, dev_mode=True),
                self.data,
                self.evidence,
                self.chain.chain_id,
                self.escrow.address,
            )
            queue = AnchorQueue(workdir / f"oracle-{i + 1}")
            self._servers.append(
                Served(
                    oracle_app(node, queue, node_key, BackendPush(f"http://127.0.0.1:{backend_port}", push_key)), port
                )
            )
            self.oracles.append((node, queue))

    def _relayer_keystore(self, key: str) -> Path:
        path = self.workdir / "relayer-keystore.json"
        path.write_text(json.dumps(Account.encrypt(key, RELAYER_PASSWORD, kdf="pbkdf2", iterations=10_000)))
        return path

    @property
    def oracle_addresses(self) -> list[str]:
        return [node.address for node, _ in self.oracles]

    # ------------------------------------------------------------------ the chain's clock

    def now(self) -> int:
        return self.chain.now()

    def warp_to(self, timestamp: int) -> None:
        """Moves the chain's clock (a block mined at `timestamp`); nothing sleeps."""
        with self.chain.lock:
            self.tester.time_travel(timestamp)

    # ------------------------------------------------------------------ parties, through the API

    def call(self, wallet: Wallet, method: str, path: str, **kwargs):
        try:
            return self.api.request(method, path, headers=self.api.wallet(wallet.key), **kwargs)
        except ApiError as exc:
            raise DemoFailed(f"{wallet.name}: {method} {path}: {exc}") from None

    def act(self, wallet: Wallet, path: str, body: dict | None = None) -> list[str]:
        """The transactions the API prepares for `path`, signed and sent from the wallet."""
        try:
            return self.api.act(self.w3, wallet.key, path, body)
        except (ApiError, RuntimeError) as exc:
            raise DemoFailed(f"{wallet.name}: {path}: {exc}") from None

    def agreement(self, pk: int) -> dict:
        return self.call(self.client, "GET", f"/v1/agreements/{pk}")

    def wait_for(self, pk: int, done, what: str, timeout: float = 60) -> dict:
        """Polls the agreement until `done(agreement)`: the worker settles and releases by itself."""
        deadline = time.monotonic() + timeout
        while not done(agreement := self.agreement(pk)):
            if time.monotonic() > deadline:
                raise DemoFailed(f"agreement {pk}: {what} did not happen within {timeout:.0f} s")
            time.sleep(0.05)
        return agreement

    def release_request(self, request_id: int, timeout: float = 60) -> dict:
        """Polls a release request until the nodes' answers decide it (agreed, failed, disagree)."""
        deadline = time.monotonic() + timeout
        while (answer := self.call(self.provider, "GET", f"/v1/release-requests/{request_id}"))[
            "status"
        ] == "measuring":
            if time.monotonic() > deadline:
                raise DemoFailed(f"release request {request_id} still measuring after {timeout:.0f} s: {answer}")
            time.sleep(0.05)
        return answer

    def anchor(self) -> list[dict]:
        """Each oracle anchors the batch of everything it signed since its last one. Oracles that
        signed the same attestations hold the same batch: the first anchors it, the others find
        its root on chain and only record it."""
        batches: dict[bytes, dict] = {}
        for node, queue in self.oracles:
            batch = queue.anchor_pending(self.w3, self.chain.registry, node.signer, self.evidence)
            if batch is not None:
                anchored_at, _, anchorer = self.chain.registry.functions.batch(batch.root).call()
                entry = batches.setdefault(
                    batch.root,
                    {
                        "root": "0x" + batch.root.hex(),
                        "attestations": len(batch.digests),
                        "uri": batch.uri,
                        "anchoredAt": anchored_at,
                        "anchorer": anchorer,
                        "oracles": [],
                    },
                )
                entry["oracles"].append(node.address)
        return list(batches.values())

    def close(self) -> None:
        for server in reversed(self._servers):
            server.close()
