"""The relayer: gets each intent mined exactly once from the service's own key.

An intent moves queued -> signed -> sent -> (mined ->) confirmed, or ends failed or superseded.
Each move is one database transaction under the intent's row lock (SKIP LOCKED: workers take
different intents), and everything a restart needs is stored before the chain hears of it:
- signing allocates the nonce (`RelayNonce`, row-locked) and stores the raw bytes and hash in the
  same transaction, so workers never share a nonce and a rolled-back signing leaves no gap;
- a signed intent is broadcast as the same bytes, as often as needed ("already known" and
  "nonce too low" are answers, not faults); the receipt of any version settles the question;
- a version not mined within `replace_after_seconds` is replaced at the same nonce with both fee
  fields raised by at least 12.5%;
- it counts as done after `confirmations` blocks; a receipt that disappears (a reorganisation)
  sends the intent back to `sent`, and the stored bytes are broadcast again.
A revert is decoded to the escrow's custom error: some mean "not yet" (retried later), some mean
someone else already did it (superseded), the rest fail the intent. RPC faults are retried with
backoff and never change an intent's state."""

from __future__ import annotations

import logging
import math
import time

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import ContractLogicError, TransactionNotFound

from attestpay.reverts import revert_data
from backend.chain import ChainGateway, Revert, escrow_revert
from backend.db.models import IndexerCursor, RelayIntent, RelayNonce, now
from backend.engine import rpc
from backend.engine.indexer import CURSOR
from backend.errors import ChainUnavailable
from backend.settings import Settings

log = logging.getLogger(__name__)

ACTIVE = ("queued", "signed", "sent", "mined")
NOT_YET = {"AttestationFromFuture", "HoldbackNotDue"}  # the chain's clock will make these pass
DONE_BY_OTHERS = {"WrongMilestoneStatus", "NoHoldback"}  # the milestone moved on without us
GAS_MARGIN = 1.25
DEFAULT_PRIORITY_FEE = 10**9


def load_account(settings: Settings) -> LocalAccount | None:
    """The relayer's key from its encrypted keystore; None when no keystore is configured."""
    if settings.relayer_keystore is None:
        return None
    keystore = settings.relayer_keystore.read_text()
    return Account.from_key(Account.decrypt(keystore, settings.relayer_password.get_secret_value()))


class Relayer:
    def __init__(self, sessions: sessionmaker, chain: ChainGateway, account: LocalAccount, settings: Settings) -> None:
        self.sessions, self.chain, self.account, self.settings = sessions, chain, account, settings

    def step(self, limit: int = 50) -> int:
        """Moves every due intent as far as it goes now (each move its own commit); returns how
        many moves were made."""
        with self.sessions() as session:
            due = list(
                session.scalars(
                    select(RelayIntent.id)
                    .where(RelayIntent.status.in_(ACTIVE), RelayIntent.next_attempt_at <= time.time())
                    .order_by(RelayIntent.id)
                    .limit(limit)
                )
            )
        moves = 0
        for intent_id in due:
            while (moved := self.advance(intent_id)) and moved != ("sent", "signed"):  # a replacement waits a turn
                moves += 1
            moves += bool(moved)
        return moves

    def advance(self, intent_id: int) -> tuple[str, str] | None:
        """One move of the intent unless another worker holds it or it has ended: (before, after), or None."""
        with self.sessions() as session, session.begin():
            intent = session.scalar(
                select(RelayIntent)
                .where(RelayIntent.id == intent_id, RelayIntent.status.in_(ACTIVE))
                .with_for_update(skip_locked=True)
            )
            if intent is None:  # another worker has it, or it has ended
                return None
            before = intent.status
            try:
                if before == "queued":
                    self._sign(session, intent)
                elif before == "signed":
                    self._broadcast(intent)
                else:
                    self._track(session, intent)
                intent.attempts = 0 if intent.status != before else intent.attempts
            except ChainUnavailable as exc:
                intent.attempts += 1
                intent.next_attempt_at = time.time() + min(0.25 * 2**intent.attempts, 30)
                intent.error = {"transient": str(exc)[:300], "attempts": intent.attempts}
                log.warning("intent %s: %s (attempt %s)", intent.key, exc, intent.attempts)
            return (before, intent.status) if intent.status != before else None

    # ------------------------------------------------------------------ moves

    def _sign(self, session: Session, intent: RelayIntent) -> None:
        tx = {"from": self.account.address, "to": intent.to, "data": intent.data, "value": intent.value}
        revert, gas = self._estimate(tx)
        if revert is not None:
            self._refused(intent, revert)
            return
        base_fee, priority = self._fees()
        chain_nonce = self._rpc(lambda w3: w3.eth.get_transaction_count(self.account.address, "latest"))
        intent.sender, intent.nonce = self.account.address, self._allocate_nonce(session, chain_nonce)
        intent.gas = math.ceil(gas * GAS_MARGIN)
        intent.priority_fee, intent.max_fee = priority, 2 * base_fee + priority
        self._sign_version(intent)
        intent.status = "signed"

    def _broadcast(self, intent: RelayIntent) -> None:
        self._send_raw(intent.raw_tx)
        intent.status, intent.sent_at = "sent", now()
        # Its receipt comes with a new block, which wakes the worker: look then, not a poll later.
        intent.next_attempt_at = time.time() + self.settings.block_poll_seconds

    def _track(self, session: Session, intent: RelayIntent) -> None:
        receipt = self._receipt(intent)
        if receipt is not None:
            if not self._hold_indexer(session):  # it is applying a range now: look again shortly
                intent.next_attempt_at = time.time() + self.settings.poll_seconds
                return
            if rpc.block_hash(self.chain, receipt["blockNumber"]) != "0x" + bytes(receipt["blockHash"]).hex():
                receipt = None  # its block was replaced since the receipt was read: as if never mined
        if receipt is None:
            if intent.status == "mined":
                log.warning("intent %s: its transaction left the chain (reorganisation); sending it again", intent.key)
                intent.status, intent.mined_hash, intent.mined_block, intent.mined_block_hash = "sent", None, None, None
                intent.sent_at = now()  # the same bytes get their time before any replacement
            if now() - (intent.sent_at or 0) >= self.settings.replace_after_seconds:
                self._replace(intent)
                return
            self._send_raw(intent.raw_tx)  # dropped from a mempool or from a replaced block: the same bytes again
            intent.next_attempt_at = time.time() + self.settings.poll_seconds
            return
        head = self._rpc(lambda w3: w3.eth.block_number)
        intent.mined_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        intent.mined_block, intent.mined_block_hash = receipt["blockNumber"], "0x" + bytes(receipt["blockHash"]).hex()
        if head - receipt["blockNumber"] + 1 < self.settings.confirmations:
            intent.status, intent.next_attempt_at = "mined", time.time() + self.settings.block_poll_seconds
            return
        if receipt["status"] == 1:
            intent.status, intent.error = "confirmed", None
            return
        tx = {"from": intent.sender, "to": intent.to, "data": intent.data, "value": intent.value}
        revert, _ = self._estimate(tx)
        self._refused(intent, revert or Revert(None, [], "reverted on chain"), mined=True)

    def _replace(self, intent: RelayIntent) -> None:
        """The same nonce with both fee fields raised by at least 12.5% (and to today's fees if higher)."""
        base_fee, priority = self._fees()
        raised_priority = max(intent.priority_fee + -(-intent.priority_fee // 8), priority)
        intent.priority_fee = raised_priority
        intent.max_fee = max(intent.max_fee + -(-intent.max_fee // 8), 2 * base_fee + raised_priority)
        self._sign_version(intent)
        log.info("intent %s: replaced as %s (max fee %s)", intent.key, intent.tx_hash, intent.max_fee)
        intent.status = "signed"  # stored before it is broadcast, like the first version

    def _refused(self, intent: RelayIntent, revert: Revert, mined: bool = False) -> None:
        """A revert before signing may mean "not yet"; after mining, the nonce is spent and the
        intent ends (its key freed, so that automation may queue it anew if it still applies)."""
        intent.error = revert.as_json()
        if revert.name in NOT_YET and not mined:
            intent.next_attempt_at = time.time() + max(self.settings.poll_seconds, 1.0)
            return
        intent.status = "superseded" if revert.name in DONE_BY_OTHERS else "failed"
        intent.key = f"{intent.key}#{intent.status}-{intent.id}"  # a later trigger may try again
        log.warning("intent %s %s: %s", intent.key, intent.status, revert.message)

    # ------------------------------------------------------------------ chain and keys

    def _sign_version(self, intent: RelayIntent) -> None:
        tx = {
            "type": 2,
            "chainId": self.chain.chain_id,
            "nonce": intent.nonce,
            "to": intent.to,
            "data": intent.data,
            "value": intent.value,
            "gas": intent.gas,
            "maxFeePerGas": intent.max_fee,
            "maxPriorityFeePerGas": intent.priority_fee,
        }
        signed = self.account.sign_transaction(tx)
        intent.raw_tx = "0x" + bytes(signed.raw_transaction).hex()
        intent.tx_hash = "0x" + bytes(signed.hash).hex()
        intent.hashes = [*intent.hashes, intent.tx_hash]

    def _allocate_nonce(self, session: Session, chain_nonce: int) -> int:
        row = session.get(RelayNonce, self.account.address, with_for_update=True)
        if row is None:
            session.execute(
                text("INSERT INTO relay_nonces (sender, next_nonce) VALUES (:s, :n) ON CONFLICT (sender) DO NOTHING"),
                {"s": self.account.address, "n": chain_nonce},
            )
            row = session.get(RelayNonce, self.account.address, with_for_update=True, populate_existing=True)
        nonce = max(row.next_nonce, chain_nonce)  # the key may also have been used elsewhere
        row.next_nonce = nonce + 1
        return nonce

    def _hold_indexer(self, session: Session) -> bool:
        """Holds the indexer's cursor (shared) until this transaction ends, or says it is held.

        A receipt read just before a reorganisation names a block that is gone. Were it stored after
        the indexer had passed that height on the new chain, the indexer would never look at it
        again. So the receipt's block is checked while the indexer cannot move, and the indexer's
        next range, which waits for this transaction, checks what it stored. Without waiting
        (SKIP LOCKED), so that the two never deadlock. No cursor yet: the indexer has passed
        nothing. SQLite has no row locks; its writers take turns anyway."""
        held = session.scalar(
            select(IndexerCursor.name).where(IndexerCursor.name == CURSOR).with_for_update(read=True, skip_locked=True)
        )
        return held is not None or session.get(IndexerCursor, CURSOR) is None

    def _send_raw(self, raw_tx: str) -> None:
        try:
            self._rpc(lambda w3: w3.eth.send_raw_transaction(raw_tx), answers=True)
        except _NodeAnswer as answer:  # "already known", "nonce too low", "underpriced": the receipt will tell
            log.info("broadcast answered: %s", answer)

    def _receipt(self, intent: RelayIntent) -> dict | None:
        for tx_hash in reversed(intent.hashes):
            try:
                return self._rpc(lambda w3, h=tx_hash: w3.eth.get_transaction_receipt(h), not_found=True)
            except TransactionNotFound:
                continue
        return None

    def _estimate(self, tx: dict) -> tuple[Revert | None, int]:
        try:
            return None, self._rpc(lambda w3: w3.eth.estimate_gas(tx), reverts=True)
        except _Reverted as exc:
            return exc.revert, 0

    def _fees(self) -> tuple[int, int]:
        block = self._rpc(lambda w3: w3.eth.get_block("latest"))
        try:
            priority = self._rpc(lambda w3: w3.eth.max_priority_fee, answers=True)
        except _NodeAnswer:  # a node without eth_maxPriorityFeePerGas
            priority = DEFAULT_PRIORITY_FEE
        return block.get("baseFeePerGas", 0), max(priority, 1)

    def _rpc(self, do, reverts: bool = False, answers: bool = False, not_found: bool = False):
        """One call to the node (`backend.engine.rpc`), its outcomes sorted: a revert (when asked),
        an answer the node gave on purpose (when asked), a missing transaction, or an ChainUnavailable."""

        def meant(exc: Exception) -> bool:
            is_revert = revert_data(exc) is not None or isinstance(exc, ContractLogicError)
            return (reverts and is_revert) or (answers and _is_answer(exc))

        try:
            return rpc.call(self.chain, do, passed_on=(TransactionNotFound,) if not_found else (), answer=meant)
        except (ChainUnavailable, TransactionNotFound):
            raise
        except Exception as exc:  # what `meant` let through
            if answers and _is_answer(exc):
                raise _NodeAnswer(str(exc)) from None
            raise _Reverted(escrow_revert(exc)) from None


class _Reverted(Exception):
    def __init__(self, revert: Revert) -> None:
        super().__init__(revert.message)
        self.revert = revert


class _NodeAnswer(Exception):
    pass


def _is_answer(exc: Exception) -> bool:
    """A JSON-RPC error the node meant (as opposed to a transport fault or a garbled reply)."""
    message = str(exc).lower()
    return any(
        s in message
        for s in (
            "already known",
            "known transaction",
            "nonce too low",
            "underpriced",
            "method not found",
            "does not exist",
            "not supported",
            "invalid nonce",
            "already imported",
        )
    )
