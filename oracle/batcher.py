"""Every signed attestation goes into the next anchoring batch. The queue is a directory of two
JSON-lines files (pending digests; anchored batches), so a restarted oracle loses nothing, and
anchoring is idempotent: a root already on chain is recorded, not sent again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from oracle.anchoring import AttestationBatch, publish
from oracle.errors import OracleError
from oracle.evidence import EvidenceStore
from oracle.registry import anchor
from oracle.signer import OracleSigner


@dataclass(frozen=True)
class AnchoredBatch:
    root: bytes
    uri: str
    digests: tuple[bytes, ...]


class AnchorQueue:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._pending = self.root / "pending.jsonl"
        self._anchored = self.root / "anchored.jsonl"

    def add(self, digest: bytes) -> None:
        """Queue a signed attestation's digest (once, however often it is added)."""
        if digest in self.pending() or self._batch_of(digest) is not None:
            return
        with self._pending.open("a") as f:
            f.write(json.dumps("0x" + digest.hex()) + "\n")

    def pending(self) -> list[bytes]:
        return [bytes.fromhex(json.loads(line)[2:]) for line in _lines(self._pending)]

    def anchor_pending(
        self, w3: Web3, registry: Contract, signer: OracleSigner, store: EvidenceStore
    ) -> AnchoredBatch | None:
        """Anchor everything pending as one batch; None when nothing is pending."""
        digests = self.pending()
        if not digests:
            return None
        batch = AttestationBatch.of(digests)
        anchored_at = registry.functions.batch(batch.root).call()[0]
        uri = publish(batch, store) if anchored_at else anchor(w3, registry, signer, batch, store)
        record = AnchoredBatch(batch.root, uri, tuple(digests))
        with self._anchored.open("a") as f:
            f.write(
                json.dumps({"root": "0x" + batch.root.hex(), "uri": uri, "digests": ["0x" + d.hex() for d in digests]})
                + "\n"
            )
        self._pending.write_text("")
        return record

    def proof(self, digest: bytes) -> tuple[bytes, list[bytes]]:
        """The anchored root holding `digest` and the inclusion proof against it."""
        record = self._batch_of(digest)
        if record is None:
            raise OracleError(f"attestation 0x{digest.hex()} is not anchored yet")
        return record.root, AttestationBatch.of(list(record.digests)).proof(digest)

    def _batch_of(self, digest: bytes) -> AnchoredBatch | None:
        for line in _lines(self._anchored):
            entry = json.loads(line)
            digests = tuple(bytes.fromhex(d[2:]) for d in entry["digests"])
            if digest in digests:
                return AnchoredBatch(bytes.fromhex(entry["root"][2:]), entry["uri"], digests)
        return None


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
