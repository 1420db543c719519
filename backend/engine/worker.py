"""A worker: indexes, queues what is due, asks the oracle nodes, relays and delivers, in a loop. Any number run against
one PostgreSQL database (each part takes its rows with SKIP LOCKED or an advisory lock); on
SQLite, run one. A fault in one part is logged and retried on the next turn; the loop sleeps
only when a turn did nothing, until woken by new work (`backend.engine.wakeup`) or a new block,
or its poll interval has passed."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import sessionmaker

from backend.chain import ChainGateway
from backend.engine.automation import Automation
from backend.engine.deliveries import Deliveries
from backend.engine.fanout import Fanout
from backend.engine.indexer import Indexer
from backend.engine.purge import ExpiredCredentials
from backend.engine.relayer import Relayer, load_account
from backend.engine.wakeup import Wakeup
from backend.errors import ChainUnavailable
from backend.services.wakeup import LOCAL
from backend.settings import Settings

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, settings: Settings, sessions: sessionmaker, chain: ChainGateway) -> None:
        self.settings = settings
        self.indexer = Indexer(sessions, chain, settings)
        self.automation = Automation(sessions, chain, settings)
        self.fanout = Fanout(sessions, chain, settings)
        account = load_account(settings)
        self.relayer = Relayer(sessions, chain, account, settings) if account else None
        self.deliveries = Deliveries(sessions, settings)
        self.purge = ExpiredCredentials(sessions)
        self.wakeup = Wakeup(settings)
        if self.relayer is None:
            log.warning("no relayer keystore (ATTESTPAY_RELAYER_KEYSTORE): intents are queued but not sent")

    def turn(self) -> int:
        """One pass over every part, indexer first (how tests drive a worker); returns how much it did."""
        return self._parts([self.indexer.step]) + self._work()

    def _work(self) -> int:
        """Everything but the indexer. The fan-out goes first: it only leases and hands the asks to
        its threads, so the nodes measure while the rest of the turn runs."""
        parts = [self.fanout.step, self.automation.step, self.deliveries.step, self.purge.step]
        if self.relayer:
            parts.insert(2, self.relayer.step)
        return self._parts(parts)

    def _parts(self, parts: list) -> int:
        done = 0
        for part in parts:
            try:
                done += part()
            except ChainUnavailable as exc:
                log.warning("%s: the chain did not answer: %s", part.__self__.__class__.__name__, exc)
        return done

    def run(self, stop: threading.Event) -> None:
        """Two loops: the indexer follows the chain in a thread of its own, and the rest takes turns
        as work arrives. Neither waits behind the other: a settlement is sent without waiting for
        a range to be indexed, and a new block is indexed without waiting for a turn of queries."""
        self.wakeup.listen(stop)
        follower = threading.Thread(target=self._follow_chain, args=(stop,), name="attestpay-indexer", daemon=True)
        follower.start()
        while not stop.is_set():
            if not self._guarded(self._work):
                self.wakeup.wait()
        follower.join()
        self.fanout.close()

    def _follow_chain(self, stop: threading.Event) -> None:
        """Indexes each new block as soon as it is seen (asked for every `block_poll_seconds`), and
        wakes the other loop for it: the relayer's receipts and the chain's clock move with blocks."""
        while not stop.is_set():
            if self._guarded(lambda: self._parts([self.indexer.step])):
                LOCAL.set()
            else:
                stop.wait(self.settings.block_poll_seconds)
        LOCAL.set()  # the other loop sees `stop` now, not a poll later

    @staticmethod
    def _guarded(turn) -> int:
        try:
            return turn()
        except Exception:  # the database is away, say: keep the worker alive and try again
            log.exception("worker turn failed")
            return 0
