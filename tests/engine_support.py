"""The chain engine under test: a funded relayer key in an encrypted keystore, a worker on the
test's app and database and a webhook receiver (apps over real HTTP: `attestpay_cli.demo.stage.Served`)."""

from __future__ import annotations

import json
import time

from eth_account import Account
from sqlalchemy import select

from attestpay.local_http import LocalServer, QuietHandler
from backend.db.models import AttestationRecord, ChainEvent, Invoice, MilestoneRecord
from backend.engine.worker import Worker

RELAYER_PASSWORD = "relayer-keystore-password"


def relayer_keystore(tmp_path, key: str | None = None) -> tuple[str, str]:
    """A keystore file for `key` (a new key by default); returns its path and the address."""
    account = Account.from_key(key) if key else Account.create()
    path = tmp_path / f"relayer-{account.address}.json"
    path.write_text(json.dumps(Account.encrypt(account.key, RELAYER_PASSWORD, kdf="pbkdf2", iterations=1_000)))
    return str(path), account.address


def engine_settings(keystore: str, **changes) -> dict:
    return {"relayer_keystore": keystore, "relayer_password": RELAYER_PASSWORD, "poll_seconds": 0.05} | changes


def worker_for(api, **changes) -> Worker:
    """A worker sharing the app's settings (plus `changes`), database and chain."""
    settings = type(api.app.state.settings)(**(api.app.state.settings.model_dump() | changes))
    return Worker(settings, api.app.state.sessions, api.app.state.chain)


def turn_until(worker: Worker, done, seconds: float = 120):
    """Runs worker turns until `done()` is true (a condition on the database or the chain). The limit
    is a deadline, never a count of turns: on a loaded machine a backoff or poll interval can take
    more turns to pass, and only the time it takes may grow."""
    deadline = time.monotonic() + seconds
    while True:
        worker.turn()
        if result := done():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {seconds} s of worker turns")


class WebhookReceiver(LocalServer):
    """An HTTP endpoint that records every POST (headers and body) and answers with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status, self.received = status, []
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

        super().__init__(Handler, "/hook")


def chain_derived(api) -> dict:
    """Every chain-derived row, without surrogate keys."""
    with api.app.state.sessions() as session:
        return {
            "events": [
                (e.tx_hash, e.log_index, e.block_number, e.block_hash, e.name, e.args, e.sender)
                for e in session.scalars(select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index))
            ],
            "milestones": [
                (
                    m.agreement.status,
                    m.index,
                    m.status,
                    m.client_approved,
                    m.settled_value,
                    m.settled_at,
                    m.paid_now,
                    m.holdback,
                    m.refund,
                    m.holdback_status,
                )
                for m in session.scalars(select(MilestoneRecord).order_by(MilestoneRecord.id))
            ],
            "invoices": sorted(
                (i.tx_hash, i.log_index, i.kind, i.total, i.lines) for i in session.scalars(select(Invoice))
            ),
            "revoked": [
                a.revoked for a in session.scalars(select(AttestationRecord).order_by(AttestationRecord.digest))
            ],
        }
