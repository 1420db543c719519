"""Every signed attestation goes into the next anchoring batch. The queue is a database: SQLite
by default (`<queue dir>/queue.db`), PostgreSQL in production (`ORACLE_QUEUE_URL`). Adding is one
insert that ignores repeats; anchoring survives a crash at every step and anchors nothing twice:

1. prepare: the pending digests are bound to one batch (its root) in one transaction;
2. publish: the batch file goes to the evidence store (content-addressed: writing it again is harmless);
3. anchor: unless the registry already holds the root, the anchor transaction is sent;
4. record: the batch is marked anchored.

After a crash the next run resumes the prepared batch (the same digests, so the same root). The
registry refuses a root it holds (`BatchAlreadyAnchored`) and is asked before sending, so the
root is anchored once and no digest ever sits in two roots."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from web3 import Web3
from web3.contract import Contract

from oracle.anchoring import AttestationBatch, publish
from oracle.errors import OracleError
from oracle.evidence import EvidenceStore
from oracle.registry import anchor
from oracle.signer import OracleSigner

metadata = MetaData()
queued = Table(
    "anchor_queue",
    metadata,
    Column("digest", String(66), primary_key=True),
    Column("added_at", Float, nullable=False),
    Column("batch_root", String(66), index=True),  # set when prepared
)
batches = Table(
    "anchor_batches",
    metadata,
    Column("root", String(66), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("prepared_at", Float, nullable=False),
    Column("uri", String(200)),
    Column("anchored_at", Float),  # None: prepared, not yet recorded as anchored
)


@dataclass(frozen=True)
class AnchoredBatch:
    root: bytes
    uri: str
    digests: tuple[bytes, ...]


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


class AnchorQueue:
    def __init__(self, location: Path | str) -> None:
        """`location`: a database URL, or a directory for the SQLite file."""
        if "://" in str(location):
            self.engine = create_engine(str(location))
        else:
            Path(location).mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(f"sqlite:///{Path(location) / 'queue.db'}", connect_args={"timeout": 30})
        metadata.create_all(self.engine)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        self._insert = dialect.insert(queued).on_conflict_do_nothing(index_elements=["digest"])

    def add(self, digest: bytes) -> None:
        """Queue a signed attestation's digest (once, however often it is added)."""
        with self.engine.begin() as db:
            db.execute(self._insert, {"digest": _hex(digest), "added_at": time.time()})

    def pending(self) -> list[bytes]:
        """Digests not yet in a batch, oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(queued.c.digest)
                .where(queued.c.batch_root.is_(None))
                .order_by(queued.c.added_at, queued.c.digest)
            )
            return [bytes.fromhex(r.digest[2:]) for r in rows]

    def waiting(self) -> tuple[int, float | None]:
        """How many digests are not anchored yet, and when the oldest of them was added."""
        unanchored = queued.outerjoin(batches, batches.c.root == queued.c.batch_root)
        with self.engine.connect() as db:
            row = db.execute(
                select(func.count(), func.min(queued.c.added_at))
                .select_from(unanchored)
                .where(batches.c.anchored_at.is_(None))
            ).one()
        return row[0], row[1]

    def due(self, size: int, window_seconds: float, now: float | None = None) -> bool:
        """Anchor now: `size` digests wait, or the oldest has waited `window_seconds`."""
        count, oldest = self.waiting()
        return count >= size or (oldest is not None and (now or time.time()) - oldest >= window_seconds)

    def anchor_pending(
        self, w3: Web3, registry: Contract, signer: OracleSigner, store: EvidenceStore
    ) -> AnchoredBatch | None:
        """Anchor the prepared batch, else everything pending as one; None when nothing waits."""
        digests = self._prepared() or self._prepare()
        if not digests:
            return None
        batch = AttestationBatch.of(digests)
        uri = publish(batch, store)
        if not registry.functions.batch(batch.root).call()[0]:
            try:
                anchor(w3, registry, signer, batch, store)
            except OracleError:
                if not registry.functions.batch(batch.root).call()[0]:  # another run of ours got there first
                    raise
        with self.engine.begin() as db:
            db.execute(
                update(batches).where(batches.c.root == _hex(batch.root)).values(uri=uri, anchored_at=time.time())
            )
        return AnchoredBatch(batch.root, uri, tuple(digests))

    def _prepared(self) -> list[bytes]:
        """The digests of a batch prepared but not recorded as anchored (a run that crashed)."""
        with self.engine.connect() as db:
            root = db.scalar(select(batches.c.root).where(batches.c.anchored_at.is_(None)).limit(1))
            if root is None:
                return []
            rows = db.execute(
                select(queued.c.digest).where(queued.c.batch_root == root).order_by(queued.c.added_at, queued.c.digest)
            )
            return [bytes.fromhex(r.digest[2:]) for r in rows]

    def _prepare(self) -> list[bytes]:
        digests = self.pending()
        if not digests:
            return []
        root = _hex(AttestationBatch.of(digests).root)
        with self.engine.begin() as db:
            db.execute(batches.insert().values(root=root, size=len(digests), prepared_at=time.time()))
            bound = db.execute(
                update(queued)
                .where(queued.c.digest.in_([_hex(d) for d in digests]), queued.c.batch_root.is_(None))
                .values(batch_root=root)
            ).rowcount
            if bound != len(digests):
                raise OracleError("another process prepared a batch of the same digests; anchor from one process")
        return digests

    def proof(self, digest: bytes) -> tuple[bytes, list[bytes]]:
        """The anchored root holding `digest` and the inclusion proof against it."""
        with self.engine.connect() as db:
            root = db.scalar(
                select(batches.c.root)
                .join(queued, queued.c.batch_root == batches.c.root)
                .where(queued.c.digest == _hex(digest), batches.c.anchored_at.is_not(None))
            )
            if root is None:
                raise OracleError(f"attestation 0x{digest.hex()} is not anchored yet")
            members = [
                bytes.fromhex(d[2:])
                for d in db.scalars(
                    select(queued.c.digest).where(queued.c.batch_root == root).order_by(queued.c.added_at)
                )
            ]
        return bytes.fromhex(root[2:]), AttestationBatch.of(members).proof(digest)
