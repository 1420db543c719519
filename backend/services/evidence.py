"""The published evidence (ATTESTPAY_EVIDENCE_DIR): the raw bytes an attested value was computed
from and the metric specs, each under its keccak256, and the anchoring batch files.

Who may read it: auditor and operator keys, everything; a wallet, what belongs to an agreement it
is a party to (client, provider, arbiter) or an oracle of: the evidence of its attestations and
its milestones' metric specs. Batch files mix many agreements' attestations: auditors and
operators only. Anyone can sign in with a fresh key, so "signed in" alone is no restriction."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.db.models import Agreement, AttestationRecord, MilestoneRecord
from backend.errors import Conflict, Forbidden, NotFound
from backend.services.access import party_role
from backend.services.auth import Principal
from backend.settings import Settings
from oracle.errors import EvidenceError
from oracle.evidence import EvidenceStore

READ_ALL = ("auditor", "operator")


def read(session: Session, settings: Settings, principal: Principal, digest: str) -> bytes:
    """The bytes stored under `digest` (0x-prefixed, lowercase), checked against it."""
    if settings.evidence_dir is None:
        raise NotFound("this service publishes no evidence (ATTESTPAY_EVIDENCE_DIR is not set)")
    require_read(session, principal, digest)
    store, key = EvidenceStore(settings.evidence_dir), bytes.fromhex(digest[2:])
    if not store.has(key):
        raise NotFound(f"no evidence {digest} is published here")
    try:
        return store.get(key)
    except EvidenceError as exc:
        raise Conflict(str(exc)) from None


def require_read(session: Session, principal: Principal, digest: str) -> None:
    if principal.role in READ_ALL:
        return
    if principal.role == "wallet":
        attested = select(AttestationRecord.agreement_pk).where(
            or_(AttestationRecord.evidence_hash == digest, AttestationRecord.metric_id == digest)
        )
        specified = select(MilestoneRecord.agreement_pk).where(MilestoneRecord.metric_id == digest)
        agreements = session.scalars(select(Agreement).where(Agreement.id.in_(attested.union(specified))))
        if any(party_role(a, principal) or principal.address in a.oracles for a in agreements):
            return
    raise Forbidden(
        f"{principal.label} may not read {digest}: evidence is for its agreement's parties and oracles, and auditors"
    )
