"""A worker: indexes, queues what is due, asks the oracle nodes, relays and delivers, in a loop. Any number run against
one PostgreSQL database (each part takes its rows with SKIP LOCKED or an advisory lock); on
SQLite, run one. A fault in one part is logged and retried on the next turn; the loop sleeps
only when a turn did nothing."""

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
from backend.errors import ChainUnavailable
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
        if self.relayer is None:
            log.warning("no relayer keystore (ATTESTPAY_RELAYER_KEYSTORE): intents are queued but not sent")

    def turn(self) -> int:
        """One pass over every part; returns how much it did."""
        parts = [self.indexer.step, self.automation.step, self.fanout.step, self.deliveries.step, self.purge.step]
        if self.relayer:
            parts.insert(2, self.relayer.step)
        done = 0
        for part in parts:
            try:
                done += part()
            except ChainUnavailable as exc:
                log.warning("%s: the chain did not answer: %s", part.__self__.__class__.__name__, exc)
        return done

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.turn()
            except Exception:  # the database is away, say: keep the worker alive and try again
                log.exception("worker turn failed")
                busy = 0
            if not busy:
                stop.wait(self.settings.poll_seconds)
        self.fanout.close()
