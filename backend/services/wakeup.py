"""Waking the workers when there is work for them, instead of leaving it to their next poll: a
release request to fan out, an attestation that has its threshold of signatures, an intent to send.

A wake-up is only a hint and is sent when the transaction that made the work commits, never
before (woken early, a worker would find nothing and sleep a whole poll): PostgreSQL delivers a
NOTIFY on `CHANNEL` at commit to every listening process, and this process's own workers are woken
by `LOCAL` after the commit. A lost wake-up costs one poll interval, nothing else: the work is in
the database and every worker still polls (`backend.engine.wakeup` listens)."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

CHANNEL = "attestpay_work"
LOCAL = threading.Event()  # the workers of this process (an API with its worker in process, the tests)
_PENDING = "wake_workers"  # a key of Session.info: this transaction made work


def wake_workers(session: Session) -> None:
    """Wakes every worker once the session's current transaction commits."""
    connection = session.connection()  # begins the transaction the wake-up belongs to
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    session.info[_PENDING] = True


def after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        LOCAL.set()


def after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
