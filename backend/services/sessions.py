"""Sessions: every flush that changes an agreement, a milestone or a consent raises the agreement's
version, every commit stores the changed agreements' documents (`backend.services.documents`) and
wakes the workers if it made work for them (`backend.services.wakeup`)."""

from __future__ import annotations

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Agreement, Consent, MilestoneRecord
from backend.services import documents, wakeup


def make_sessionmaker(engine: Engine) -> sessionmaker:
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "before_flush", _raise_versions)
    event.listen(sessions, "before_commit", documents.store_changed)
    event.listen(sessions, "after_transaction_end", documents.forget_changed)
    event.listen(sessions, "after_commit", wakeup.after_commit)
    event.listen(sessions, "after_rollback", wakeup.after_rollback)
    return sessions


def _raise_versions(session: Session, _context, _instances) -> None:
    """`version = version + 1` in SQL, so that two concurrent changes give two versions."""
    with session.no_autoflush:
        touched = {
            obj if isinstance(obj, Agreement) else obj.agreement
            for obj in (*session.new, *session.dirty)
            if isinstance(obj, (Agreement, MilestoneRecord, Consent))
        }
    for agreement in touched:
        if agreement is None or agreement in session.deleted:
            continue
        created = agreement in session.new
        documents.note_changed(session, agreement, created)
        if not created:
            agreement.version = Agreement.version + 1
