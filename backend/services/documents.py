"""Agreements as the API returns them, stored as JSON beside each agreement and rewritten in the
transaction of every change to it, its milestones or its consents. A read on any replica is then
one indexed query that returns the bytes to send: no ORM load, no serialization, and no cache
whose hit rate falls as the number of agreements grows.

The document is rendered after the transaction's changes are flushed, from what the database then
holds, while the transaction holds the agreement's row lock (its version was raised): every other
change to the agreement waits for that lock, so a document never shows an older state than the one
committed with it."""

from __future__ import annotations

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session, SessionTransaction

from backend.db.models import Agreement, AgreementDocument
from backend.domain.schemas import AgreementOut
from backend.errors import NotFound
from backend.services.access import listed_for, require_read
from backend.services.auth import Principal

CHANGED = "attestpay.changed_agreements"  # Session.info: {agreement: created in this transaction}
RENDERED = "attestpay.rendered_agreements"  # Session.info: {pk: JSON} as the last commit stored them


def render(agreement: Agreement) -> bytes:
    return AgreementOut.model_validate(agreement, from_attributes=True).model_dump_json().encode()


# Built once: building a statement and computing its cache key cost more than running it.
_READ = (
    select(
        Agreement.id,
        Agreement.client,
        Agreement.provider,
        Agreement.arbiter,
        Agreement.version,
        AgreementDocument.version.label("shown"),
        AgreementDocument.body,
    )
    .outerjoin(AgreementDocument, AgreementDocument.agreement_pk == Agreement.id)
    .where(Agreement.id == bindparam("pk"))
)


def read(session: Session, principal: Principal, pk: int) -> bytes:
    """The agreement's JSON, for a caller who may read it: one query, on the session's connection
    (Core, without the ORM's per-statement work)."""
    row = session.connection().execute(_READ, {"pk": pk}).one_or_none()
    if row is None:
        raise NotFound(f"no agreement {pk}")
    require_read(row, principal)
    return row.body if row.shown == row.version else _render_stored_late(session, pk)


def listing(session: Session, principal: Principal) -> bytes:
    """A JSON array of the agreements the caller may see, in id order."""
    rows = session.connection().execute(
        select(Agreement.id, Agreement.version, AgreementDocument.version.label("shown"), AgreementDocument.body)
        .outerjoin(AgreementDocument, AgreementDocument.agreement_pk == Agreement.id)
        .where(listed_for(principal))
        .order_by(Agreement.id)
    )
    return b"[" + b",".join(r.body if r.shown == r.version else _render_stored_late(session, r.id) for r in rows) + b"]"


def _render_stored_late(session: Session, pk: int) -> bytes:
    # Written before documents were stored (migration 0003) and not changed since.
    return render(session.get(Agreement, pk))


def committed(session: Session, agreement: Agreement) -> bytes:
    """The JSON of an agreement the session's last commit changed, as that commit stored it."""
    return session.info.get(RENDERED, {}).get(agreement.id) or render(agreement)


def note_changed(session: Session, agreement: Agreement, created: bool) -> None:
    changed = session.info.setdefault(CHANGED, {})
    changed[agreement] = changed.get(agreement, False) or created


def store_changed(session: Session) -> None:
    """Before commit: writes the document of every agreement this transaction changed."""
    session.flush()
    rendered = session.info[RENDERED] = {}
    for agreement, created in session.info.pop(CHANGED, {}).items():
        if inspect(agreement).persistent:
            rendered[agreement.id] = _store(session, agreement, created)


def forget_changed(session: Session, transaction: SessionTransaction) -> None:
    """After a transaction: what a rolled-back one changed is gone (a savepoint's end is not one)."""
    if transaction.parent is None:
        session.info.pop(CHANGED, None)


def _store(session: Session, agreement: Agreement, created: bool) -> bytes:
    if not created:
        # Reloaded as the database now holds them: the version was raised in SQL, and another
        # transaction may have changed a milestone or consent before this one took the row lock.
        # A new agreement needs none of this: no other transaction can see it yet.
        for child in (*agreement.milestones, *agreement.consents):
            session.expire(child)
        session.expire(agreement)
    body, version = render(agreement), agreement.version
    replaced = (
        not created
        and session.execute(
            update(AgreementDocument)
            .where(AgreementDocument.agreement_pk == agreement.id)
            .values(version=version, body=body)
        ).rowcount
    )
    if not replaced:
        session.add(AgreementDocument(agreement_pk=agreement.id, version=version, body=body))
    return body
