"""Relay intents: the transactions the service's own key is to send. Services and the engine's
automation queue them here; the engine's relayer gets each one mined exactly once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import Agreement, RelayIntent, now
from backend.db.statements import insert_or_ignore
from backend.services.wakeup import wake_workers

INSERT_INTENT = insert_or_ignore(
    RelayIntent.__table__,
    "key",
    (
        "key",
        "kind",
        "agreement_pk",
        "milestone_index",
        "to",
        "data",
        "value",
        "status",
        "hashes",
        "attempts",
        "next_attempt_at",
        "created_at",
        "updated_at",
    ),
)


def settle_key(agreement: Agreement, index: int) -> str:
    """The one settlement intent a milestone may have, whoever asks for it."""
    return f"settle:{agreement.agreement_id}:{index}"


def enqueue(
    session: Session, key: str, kind: str, call, agreement_pk: int | None = None, index: int | None = None
) -> bool:
    """Adds an intent unless one with `key` exists (then nothing changes); True if added. The
    caller commits, so an intent is queued with the change that asked for it or not at all."""
    row = {
        "key": key,
        "kind": kind,
        "agreement_pk": agreement_pk,
        "milestone_index": index,
        "to": call.address,
        "data": call._encode_transaction_data(),
        "value": 0,
        "status": "queued",
        "hashes": [],
        "attempts": 0,
        "next_attempt_at": 0.0,
        "created_at": now(),
        "updated_at": now(),
    }
    if session.execute(INSERT_INTENT, row).rowcount != 1:
        return False
    wake_workers(session)  # the relayer
    return True
