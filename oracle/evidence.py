"""Content-addressed evidence: the raw bytes a value was computed from, kept under their keccak256
(the attestation's `evidenceHash`), so an auditor can recompute the value from the same bytes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from eth_utils import keccak

from oracle.errors import EvidenceError


class EvidenceStore:
    """A local directory; the file name is the hex hash. Writes are atomic and idempotent, also when
    several oracle nodes sharing the directory store the same evidence at once: each writes its own
    temporary file, and the last rename leaves the same bytes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> bytes:
        digest = keccak(data)
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return digest

    def has(self, digest: bytes) -> bool:
        return self._path(digest).exists()

    def get(self, digest: bytes) -> bytes:
        path = self._path(digest)
        if not path.exists():
            raise EvidenceError(f"no evidence 0x{digest.hex()} in {self.root}")
        data = path.read_bytes()
        if keccak(data) != digest:
            raise EvidenceError(f"evidence 0x{digest.hex()} was altered: its bytes hash to 0x{keccak(data).hex()}")
        return data

    def _path(self, digest: bytes) -> Path:
        return self.root / digest.hex()[:2] / digest.hex()
