"""Fixtures: one embedded chain (eth-tester, py-evm, Prague) per session with the contracts
deployed from the committed artifacts; every test runs inside a snapshot that is reverted after it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from eth_tester import EthereumTester
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from xdist.scheduler import LoadScopeScheduling

from attestpay import embedded
from attestpay.contracts import deploy
from attestpay.devchain import Party, Web3Chain

pytest_plugins = ["backend_support", "anvil_support"]  # the backend's app and database; anvil and processes

# Parallel workers, each test's apps and the API, worker and node processes they start share
# PostgreSQL's 100 connections: a few each (production sizes the pool to its thread pool).
os.environ.setdefault("ATTESTPAY_DATABASE_POOL_SIZE", "4")


@dataclass
class Chain(Web3Chain):
    w3: Web3
    tester: EthereumTester
    registry: Contract
    escrow: Contract
    token: Contract
    client: Party
    provider: Party
    arbiter: Party
    relayer: Party
    oracles: list[Party]  # ascending by address

    def warp(self, timestamp: int) -> None:
        self.tester.time_travel(timestamp)


@pytest.fixture(scope="session")
def session_chain() -> Chain:
    tester = embedded.tester()
    w3 = Web3(EthereumTesterProvider(tester))
    keys = tester.backend.account_keys
    parties = [Party(Web3.to_checksum_address(k.public_key.to_checksum_address()), k.to_hex()) for k in keys]
    deployer, client, provider, arbiter, relayer = parties[:5]
    oracles = sorted(parties[5:8], key=lambda p: int(p.address, 16))
    registry = deploy(w3, "AttestationRegistry", sender=deployer.address)
    escrow = deploy(w3, "MilestoneEscrow", registry.address, sender=deployer.address)
    token = deploy(w3, "MockERC20", sender=deployer.address)
    token.functions.mint(client.address, 10**30).transact({"from": deployer.address})
    token.functions.approve(escrow.address, 2**256 - 1).transact({"from": client.address})
    return Chain(w3, tester, registry, escrow, token, client, provider, arbiter, relayer, oracles)


@pytest.fixture
def chain(session_chain: Chain):
    snapshot = session_chain.tester.take_snapshot()
    yield session_chain
    session_chain.tester.revert_to_snapshot(snapshot)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks what a test needs, read from its fixtures: `anvil` (also `slow`: a node process and a
    deployment), and `postgres` (the PostgreSQL parameter of `database_url`, or a fixture that
    migrates a PostgreSQL schema). Modules that reach a service another way mark themselves.
    Then orders the slow tests first."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "anvil" in fixtures:
            item.add_marker(pytest.mark.anvil)
            item.add_marker(pytest.mark.slow)
        if params.get("database_url") == "postgresql" or fixtures & {"migrated_postgres", "engine_database"}:
            item.add_marker(pytest.mark.postgres)
    # The slow tests first: pytest-xdist hands tests out in this order, and a long one started last
    # would keep one worker busy while the others have nothing left to do.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Modules whose tests share a costly module-scoped fixture (the demo's run, node processes, Prometheus,
# an anvil, a served API): each goes to one pytest-xdist worker whole, so the fixture is built once.
# Every other test is scheduled on its own. (xdist's own `xdist_group` mark does not take under
# pytest 9: the group rides on the node id, which pytest 9 no longer lets a plugin change.)
ONE_WORKER = {
    "tests/e2e/test_demo.py",
    "tests/engine/test_engine_release_requests.py",
    "tests/oracle/test_oracle_cli.py",
    "tests/oracle/test_oracle_prometheus_source.py",
    "tests/backend/test_backend_hostile_json.py",
    "tests/backend/test_backend_preview.py",
    "tests/core/test_payout_differential.py",
}


class ModulesThatShareAFixture(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if module in ONE_WORKER else nodeid


def pytest_xdist_make_scheduler(config, log):
    return ModulesThatShareAFixture(config, log)
