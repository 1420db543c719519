"""The node anchors its own queue on a schedule, so no one has to: as soon as `batch_size`
attestations wait, or the oldest has waited `window_seconds`. A failed attempt (the chain away,
say) is logged and tried again at the next tick; the queue's steps make a retry safe."""

from __future__ import annotations

import logging
import threading
import time

from web3 import Web3
from web3.contract import Contract

from oracle.batcher import AnchorQueue
from oracle.evidence import EvidenceStore
from oracle.signer import OracleSigner

log = logging.getLogger("oracle.anchorer")


class Anchorer:
    def __init__(
        self,
        queue: AnchorQueue,
        w3: Web3,
        registry: Contract,
        signer: OracleSigner,
        store: EvidenceStore,
        batch_size: int,
        window_seconds: float,
    ) -> None:
        self.queue, self.w3, self.registry, self.signer, self.store = queue, w3, registry, signer, store
        self.batch_size, self.window_seconds = batch_size, window_seconds
        self.tick = min(1.0, window_seconds / 4)
        self.anchored = 0  # batches this process anchored

    def step(self) -> bool:
        """Anchors when due; whether it anchored a batch."""
        if not self.queue.due(self.batch_size, self.window_seconds):
            return False
        started = time.monotonic()
        batch = self.queue.anchor_pending(self.w3, self.registry, self.signer, self.store)
        if batch is None:
            return False
        self.anchored += 1
        log.info(
            "anchored",
            extra={
                "fields": {
                    "root": "0x" + batch.root.hex(),
                    "attestations": len(batch.digests),
                    "seconds": round(time.monotonic() - started, 3),
                }
            },
        )
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.tick):
            try:
                self.step()
            except Exception as exc:  # the chain or the database is away: the next tick tries again
                log.warning("anchoring failed", extra={"fields": {"error": f"{type(exc).__name__}: {exc}"[:300]}})
