"""The soak's oracle network (scripts/soak.py): three node processes that anchor by themselves, a
driver that asks them for releases all along, and its faults and invariants: a node killed
(SIGKILL) and restarted, two nodes made to disagree for a while; then nothing paid twice (the
soak's own check), no attestation left unanchored past the nodes' window, every disagreement
flagged."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
from bench_support import UnanchoredAge, milestone, predictions
from sqlalchemy import select

from attestpay.devchain import AnvilChain, free_port
from attestpay.devstack import start_oracle_node, stop
from backend.db.models import NodeAnswer, ReleaseRequest

NODE_KEY = "soak-node-key-0123456789abcdef"
ANCHOR_WINDOW = 10.0
GRACE = 60
SPEC = {
    "name": "model accuracy (oracle network)",
    "version": 1,
    "unit": "fraction",
    "decimals": 4,
    "higher_is_better": True,
    "source": {"kind": "model_eval", "path": "network.jsonl", "metric": "accuracy"},
}


class Nodes:
    def __init__(self, chain: AnvilChain, workdir: Path) -> None:
        self.chain, self.workdir = chain, workdir
        self.ports = [free_port() for _ in chain.oracles]
        self.processes = [self._start(i) for i in range(len(self.ports))]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.faults, self.unanchored_age = Counter(), UnanchoredAge(self.urls)

    def _start(self, i: int):
        predictions(self.workdir / f"node{i}" / "data" / "network.jsonl", 100, 95)
        process, _ = start_oracle_node(
            self.workdir / f"node{i}",
            self.chain.oracles[i].key,
            self.chain.chain_id,
            self.chain.escrow.address,
            NODE_KEY,
            port=self.ports[i],
            ORACLE_RPC_URL=self.chain.url,
            ORACLE_REGISTRY=self.chain.registry.address,
            ORACLE_ANCHOR_WINDOW_SECONDS=str(ANCHOR_WINDOW),
        )
        return process

    def kill_and_restart(self, i: int) -> None:
        self.processes[i].send_signal(signal.SIGKILL)
        self.processes[i].wait()
        time.sleep(2)
        self.processes[i] = self._start(i)
        self.faults["oracle node killed (SIGKILL) and restarted"] += 1

    def disagree(self, on: bool) -> None:
        """Nodes 1 and 2 read other data than node 0 (and each other): no digest reaches 2 of 3."""
        for i, correct in ((1, 90 if on else 95), (2, 85 if on else 95)):
            predictions(self.workdir / f"node{i}" / "data" / "network.jsonl", 100, correct)
        if on:
            self.faults["two oracle nodes disagreeing"] += 1

    def unanchored(self) -> int:
        return sum(httpx.get(u + "/healthz", timeout=2).json()["unanchored"] for u in self.urls)

    def close(self) -> None:
        self.unanchored_age.stop.set()
        stop(*self.processes)


def release_lane(driver, until: float) -> None:
    """One party set's releases, one after another: an agreement on the nodes' metric, funded, then
    the provider's release request followed until the nodes decide it."""
    while time.monotonic() < until:
        try:
            driver.load.count(f"release {_one_release(driver)}")
        except Exception as exc:  # noqa: BLE001 (the lane must outlive what one release meets under faults)
            driver.load.count(f"release cut short ({type(exc).__name__}: {str(exc)[:60]})")


def _one_release(driver) -> str:
    body = {
        "title": "soak release request",
        "client": driver.client.address,
        "provider": driver.provider.address,
        "arbiter": driver.arbiter.address,
        "oracles": [o.address for o in driver.chain.oracles],
        "threshold": 2,
        "milestones": [milestone("accuracy", SPEC, driver.chain.now() + 30 * 86_400)],
    }
    api, agreement = driver.funded(body)
    base = f"/v1/agreements/{agreement['id']}"
    provider = api.wallet(driver.provider.key)
    deadline = time.monotonic() + 60
    while api.request("GET", base, headers=provider)["status"] != "active":
        if time.monotonic() > deadline:
            return "never funded"
        time.sleep(0.5)
    asked = driver.retried(
        "request release", lambda: api.request("POST", f"{base}/milestones/0/request-release", headers=provider)
    )
    while time.monotonic() < deadline + 60:
        request = driver.retried(
            "read release request", lambda: api.request("GET", f"/v1/release-requests/{asked['id']}", headers=provider)
        )
        if request["status"] != "measuring":
            return request["status"]
        time.sleep(0.5)
    return "still measuring"


def invariants(nodes: Nodes, sessions) -> list[tuple[str, bool, str]]:
    out = []
    deadline = time.monotonic() + ANCHOR_WINDOW + GRACE
    while nodes.unanchored() and time.monotonic() < deadline:
        time.sleep(1)
    left = nodes.unanchored()
    out.append(
        (
            "no attestation unanchored past the nodes' window",
            nodes.unanchored_age.max_age <= ANCHOR_WINDOW + GRACE and left == 0,
            f"oldest unanchored {nodes.unanchored_age.max_age:.1f} s (window {ANCHOR_WINDOW:g} s + {GRACE} s); "
            f"{left} still waiting",
        )
    )
    with sessions() as session:
        requests = list(session.scalars(select(ReleaseRequest)))
        answers = list(session.scalars(select(NodeAnswer)))
    split, unflagged, stuck = 0, [], [r.id for r in requests if r.status == "measuring"]
    for r in requests:
        final = [a for a in answers if a.request_id == r.id and a.round == r.round and a.status == "signed"]
        digests = Counter(a.digest for a in final)
        if len(digests) >= 2 and max(digests.values()) < 2:
            split += 1
            if r.status != "disagree":
                unflagged.append(r.id)
    flagged = sum(r.status == "disagree" for r in requests)
    out.append(
        (
            # A short run may see no request split twice (the nodes' disagreement can meet a reclaim or a
            # fault first): then there is nothing to flag, and the detail says how many were.
            "every disagreement flagged, no release request left measuring",
            not unflagged and not stuck,
            f"{len(requests)} requests {dict(Counter(r.status for r in requests))}; split twice {split}, "
            f"flagged {flagged}; unflagged {unflagged[:3]}, stuck {stuck[:3]}",
        )
    )
    return out


def node_settings(nodes: Nodes) -> dict:
    return {"ATTESTPAY_ORACLE_NODES": json.dumps(nodes.urls), "ATTESTPAY_ORACLE_NODE_API_KEY": NODE_KEY}
