"""The indexer: follows the escrow's and the registry's events with eth_getLogs and applies them
(`backend.services.chain_sync`), `confirmations - 1` blocks behind the head.

- Ranges adapt: a failing or overfull eth_getLogs halves the range, a light one doubles it.
- The cursor (last block and its hash) moves in the transaction that applies the range's events,
  so a restart resumes exactly where the last commit left off.
- Before each range the cursor's hash is compared with the chain's; when they differ the chain
  was reorganised: the common ancestor is found among the recently indexed blocks' hashes, the
  events above it are rolled back, the relayer's transactions mined above it are sent again, and
  indexing resumes from there.
- What was learnt ahead of the indexer (events a wallet reported from its receipt, the relayer's
  transactions seen mined) is checked against each range's logs and block hashes: from a block
  replaced before the indexer got there, it is rolled back the same way.
- On PostgreSQL one replica indexes at a time (a transaction-scoped advisory lock, per schema); the others skip.
`rebuild` forgets every chain-derived row and indexes again from the start block."""

from __future__ import annotations

import logging

from eth_utils import event_abi_to_log_topic
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from backend.chain import ChainGateway
from backend.db.models import ChainEvent, IndexedBlock, IndexerCursor, RelayIntent, now
from backend.engine import rpc
from backend.errors import ChainUnavailable
from backend.services import chain_sync
from backend.settings import Settings

log = logging.getLogger(__name__)

CURSOR = "events"
ADVISORY_LOCK = 0x41747465737449  # "AttestI"
# Advisory locks belong to the whole database: the key is the lock's seeded with the schema, so two
# deployments (or test workers) in their own schemas of one database do not take turns indexing.
LEAD = "hashtextextended(current_schema(), :k)"
KEEP_BLOCK_HASHES = 512  # how deep a reorganisation can be and still be rolled back in part
LIGHT = 1_000  # a range with fewer logs than this may double


class Indexer:
    def __init__(self, sessions: sessionmaker, chain: ChainGateway, settings: Settings) -> None:
        self.sessions, self.chain, self.settings = sessions, chain, settings
        self.range = settings.log_range
        self.done_at: tuple[int, bytes] | None = None  # the head (number, hash) when the cursor last reached it
        self.start = settings.start_block if settings.start_block is not None else chain.start_block
        self.events = {}
        for contract in (chain.escrow, chain.registry):
            for abi in contract.abi:
                if abi["type"] == "event":
                    self.events[event_abi_to_log_topic(abi)] = getattr(contract.events, abi["name"])()
        self.addresses = [chain.escrow.address, chain.registry.address]

    def step(self) -> int:
        """Indexes the next range (or rolls back a reorganisation); returns the blocks it moved.
        Nothing to do while the head is the block this replica last indexed up to: one call to
        the node, no query (a head with the same hash has the same chain below it)."""
        latest = self._rpc(lambda w3: w3.eth.get_block("latest"))
        head, head_hash = latest["number"], bytes(latest["hash"])
        if self.done_at == (head, head_hash):
            return 0
        target = head - (self.settings.confirmations - 1)
        with self.sessions() as session, session.begin():
            if not self._lead(session):
                return 0
            cursor = session.get(IndexerCursor, CURSOR, with_for_update=True)
            if cursor is None:
                cursor = IndexerCursor(name=CURSOR, block_number=self.start - 1, block_hash=None)
                session.add(cursor)
            if cursor.block_hash is not None and self._hash(cursor.block_number) != cursor.block_hash:
                return self._roll_back(session, cursor)
            if cursor.block_number >= target:
                self.done_at = (head, head_hash)
                return 0
            first = cursor.block_number + 1
            last = min(target, first + self.range - 1)
            last_hash = self._hash(last)
            logs = self._logs(first, last)
            if self._replaced_ahead(session, first, last, logs):
                self._rewind(session, first - 1)
            self._apply(session, logs)
            cursor.block_number, cursor.block_hash = last, last_hash
            self._keep_hashes(session, logs, last, last_hash)
            return last - first + 1

    def catch_up(self) -> int:
        """Indexes until the head (minus the confirmation depth); returns the blocks it moved."""
        total = 0
        while moved := self.step():
            total += moved
        return total

    def rebuild(self) -> int:
        """Reconstructs every chain-derived row from the events alone."""
        with self.sessions() as session, session.begin():
            self._lead(session, wait=True)
            chain_sync.forget_everything(session)
            session.execute(delete(IndexedBlock))
            session.execute(delete(IndexerCursor))
        self.range, self.done_at = self.settings.log_range, None
        return self.catch_up()

    # ------------------------------------------------------------------ steps

    def _logs(self, first: int, last: int) -> list:
        """eth_getLogs over [first, last]; a fault halves the range for the next try."""
        query = {"fromBlock": first, "toBlock": last, "address": self.addresses}
        try:
            logs = self._rpc(lambda w3: w3.eth.get_logs(query))
        except ChainUnavailable:
            self.range = max(1, self.range // 2)
            raise
        if len(logs) < LIGHT:
            self.range = min(self.settings.max_log_range, self.range * 2)
        elif self.range > 1:
            self.range //= 2
        return logs

    def _apply(self, session: Session, logs: list) -> None:
        """Asks the node first, then writes: on SQLite the first write takes the database's one
        write lock, which no request should wait on while the node answers."""
        events, times, senders = [], {}, {}
        for raw in sorted(logs, key=lambda entry: (entry["blockNumber"], entry["logIndex"])):
            decoder = self.events.get(bytes(raw["topics"][0])) if raw["topics"] else None
            if decoder is None:
                continue
            number, tx_hash = raw["blockNumber"], raw["transactionHash"]
            if number not in times:
                times[number] = self._rpc(lambda w3, number=number: w3.eth.get_block(number)["timestamp"])
            if tx_hash not in senders:
                senders[tx_hash] = self._rpc(lambda w3, tx_hash=tx_hash: w3.eth.get_transaction(tx_hash)["from"])
            events.append((decoder.process_log(raw), times[number], senders[tx_hash]))
        for event, block_time, sender in events:
            chain_sync.apply(session, event, block_time, sender)

    def _roll_back(self, session: Session, cursor: IndexerCursor) -> int:
        known = session.scalars(
            select(IndexedBlock).where(IndexedBlock.number < cursor.block_number).order_by(IndexedBlock.number.desc())
        )
        ancestor, ancestor_hash = self.start - 1, None
        for block in known:
            if self._hash(block.number) == block.hash:
                ancestor, ancestor_hash = block.number, block.hash
                break
        self._rewind(session, ancestor)
        session.execute(delete(IndexedBlock).where(IndexedBlock.number > ancestor))
        log.warning("reorganisation below block %s: back to %s", cursor.block_number, ancestor)
        depth = cursor.block_number - ancestor
        cursor.block_number, cursor.block_hash = ancestor, ancestor_hash
        return depth

    def _rewind(self, session: Session, ancestor: int) -> None:
        """Events above `ancestor` are rolled back (the agreements replayed without them) and the
        relayer's transactions mined above it are sent again, as the same bytes."""
        removed = chain_sync.roll_back(session, ancestor)
        session.execute(
            update(RelayIntent)
            .where(RelayIntent.mined_block > ancestor, RelayIntent.status.in_(("mined", "confirmed")))
            .values(
                status="sent",
                mined_hash=None,
                mined_block=None,
                mined_block_hash=None,
                sent_at=now(),
                next_attempt_at=0.0,
            )
        )
        log.warning("rolled back %s events above block %s", len(removed), ancestor)

    def _replaced_ahead(self, session: Session, first: int, last: int, logs: list) -> bool:
        """Whether something learnt ahead of the indexer in [first, last] is not on the chain any
        more: an event a wallet reported from its receipt (`POST /v1/transactions`) or a relayer
        transaction seen mined, in a block that was replaced before the indexer got there."""
        canonical = {("0x" + bytes(e["transactionHash"]).hex(), e["logIndex"]) for e in logs}
        reported = session.execute(
            select(ChainEvent.tx_hash, ChainEvent.log_index).where(ChainEvent.block_number.between(first, last))
        )
        if any((tx_hash, index) not in canonical for tx_hash, index in reported):
            return True
        mined = session.execute(
            select(RelayIntent.mined_block, RelayIntent.mined_block_hash).where(
                RelayIntent.mined_block.between(first, last), RelayIntent.status.in_(("mined", "confirmed"))
            )
        ).all()
        return any(self._hash(number) != block_hash for number, block_hash in set(mined))

    def _keep_hashes(self, session: Session, logs: list, last: int, last_hash: str) -> None:
        """The hashes of the blocks with events and of the range's last block; the oldest go."""
        blocks = {entry["blockNumber"]: "0x" + bytes(entry["blockHash"]).hex() for entry in logs}
        blocks[last] = last_hash
        for number, block_hash in blocks.items():
            session.merge(IndexedBlock(number=number, hash=block_hash))
        session.execute(delete(IndexedBlock).where(IndexedBlock.number <= last - KEEP_BLOCK_HASHES))

    def _lead(self, session: Session, wait: bool = False) -> bool:
        if session.get_bind().dialect.name != "postgresql":
            return True  # SQLite: one writer at a time anyway
        if wait:
            session.execute(text(f"SELECT pg_advisory_xact_lock({LEAD})"), {"k": ADVISORY_LOCK})
            return True
        return session.scalar(text(f"SELECT pg_try_advisory_xact_lock({LEAD})"), {"k": ADVISORY_LOCK})

    def _hash(self, number: int) -> str | None:
        return rpc.block_hash(self.chain, number)

    def _rpc(self, do):
        return rpc.call(self.chain, do)
