"""Attestation intake. Oracle nodes push what they signed, at least once; the digest is the key,
so a repeated push changes nothing. Each signature is checked against the agreement's oracle set
before it is kept; every verified attestation is kept, whether or not it triggers anything."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attestpay import typed_data
from attestpay.terms import Attestation
from attestpay.verify import InvalidAttestation, recover
from backend.api.schemas import AttestationIn
from backend.db.models import Agreement, AttestationRecord, AttestationSignature
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.services.agreements import by_agreement_id
from backend.services.auth import Principal


def intake(session: Session, principal: Principal, body: AttestationIn) -> AttestationRecord:
    msg = body.attestation
    agreement = by_agreement_id(session, msg.agreementId)
    if msg.milestoneIndex >= len(agreement.milestones):
        raise InvalidInput(f"agreement {msg.agreementId} has no milestone {msg.milestoneIndex}", field="attestation.milestoneIndex")
    milestone = agreement.milestones[msg.milestoneIndex]
    if msg.metricId != milestone.metric_id:
        raise InvalidInput(f"milestone {msg.milestoneIndex} measures {milestone.metric_id}, not {msg.metricId}", field="attestation.metricId")
    att = Attestation(
        bytes.fromhex(msg.agreementId[2:]), msg.milestoneIndex, bytes.fromhex(msg.metricId[2:]), msg.value,
        msg.observedAt, bytes.fromhex(msg.evidenceHash[2:]), msg.expiresAt,
    )
    digest = "0x" + typed_data.attestation_digest(att, agreement.chain_id, agreement.escrow).hex()
    if body.digest is not None and body.digest != digest:
        raise InvalidInput(f"the digest of this attestation on {agreement.escrow} is {digest}, not {body.digest}", field="digest")
    pairs = [(s.signer, s.signature) for s in body.signatures]
    if body.signer and body.signature:
        pairs.append((body.signer, body.signature))
    if not pairs:
        raise InvalidInput("no signature: send `signer` and `signature`, or `signatures`", field="signatures")
    for signer, signature in pairs:
        _check_signature(agreement, digest, signer, signature)

    record = session.get(AttestationRecord, digest) or _insert(session, agreement, msg, digest)
    have = {s.signer for s in record.signatures}
    for signer, signature in pairs:
        if signer not in have:
            _insert_signature(session, record, signer, signature, principal.label)
            have.add(signer)
    session.commit()
    session.refresh(record)
    return record


def _check_signature(agreement: Agreement, digest: str, signer: str, signature: str) -> None:
    try:
        recovered = recover(bytes.fromhex(digest[2:]), bytes.fromhex(signature[2:]))
    except InvalidAttestation as exc:
        raise InvalidInput(f"signature of {signer}: {exc}", field="signature") from None
    if recovered.hex() != signer[2:].lower():
        raise InvalidInput(f"the signature is by 0x{recovered.hex()}, not {signer} (is the attestation exactly as signed?)", field="signature")
    if signer not in agreement.oracles:
        raise Forbidden(f"{signer} is not in the oracle set of agreement {agreement.agreement_id}")


def _insert(session: Session, agreement: Agreement, msg, digest: str) -> AttestationRecord:
    """Insert, or take the row a concurrent push inserted first (savepoint: the rest survives)."""
    record = AttestationRecord(
        digest=digest, agreement_pk=agreement.id, milestone_index=msg.milestoneIndex, metric_id=msg.metricId,
        value=msg.value, observed_at=msg.observedAt, evidence_hash=msg.evidenceHash, expires_at=msg.expiresAt,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        record = session.get(AttestationRecord, digest, populate_existing=True)
    return record


def _insert_signature(session: Session, record: AttestationRecord, signer: str, signature: str, pushed_by: str) -> None:
    try:
        with session.begin_nested():
            session.add(AttestationSignature(digest=record.digest, signer=signer, signature=signature, pushed_by=pushed_by))
    except IntegrityError:
        pass  # the same signature arrived through another request


def for_agreement(session: Session, agreement: Agreement) -> list[AttestationRecord]:
    query = select(AttestationRecord).where(AttestationRecord.agreement_pk == agreement.id)
    return list(session.scalars(query.order_by(AttestationRecord.received_at, AttestationRecord.digest)))


def describe(record: AttestationRecord, agreement: Agreement) -> dict:
    milestone = agreement.milestones[record.milestone_index]
    meets = record.value >= milestone.target if milestone.higher_is_better else record.value <= milestone.target
    signers = sorted((s.signer for s in record.signatures), key=lambda a: int(a, 16))
    return {
        "digest": record.digest, "agreement_id": agreement.agreement_id, "milestone_index": record.milestone_index,
        "metric_id": record.metric_id, "value": record.value, "observed_at": record.observed_at,
        "evidence_hash": record.evidence_hash, "expires_at": record.expires_at, "received_at": record.received_at,
        "signers": signers, "threshold": agreement.threshold, "complete": len(signers) >= agreement.threshold,
        "meets_target": meets,
    }


def record_anchoring(session: Session, chain, digest: str, root: str, proof: list[str]) -> AttestationRecord:
    """Keeps where the attestation was anchored, once the registry confirms the proof."""
    record = session.get(AttestationRecord, digest)
    if record is None:
        raise NotFound(f"no attestation {digest}")
    with chain.lock:
        included = chain.registry.functions.isIncluded(
            bytes.fromhex(root[2:]), bytes.fromhex(digest[2:]), [bytes.fromhex(p[2:]) for p in proof]
        ).call()
    if not included:
        raise InvalidInput(f"the registry does not include {digest} under root {root} with this proof", field="proof")
    record.anchor_root, record.anchor_proof = root, proof
    session.commit()
    return record
