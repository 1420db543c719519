"""Attestation intake. Oracle nodes push what they signed, at least once; the digest is the key,
so a repeated push changes nothing. Each signature is checked against the agreement's oracle set
before it is kept; every verified attestation is kept, whether or not it triggers anything."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from attestpay import payout, typed_data
from attestpay.terms import Attestation
from attestpay.verify import InvalidAttestation, recover
from backend.db.models import Agreement, AttestationRecord, AttestationSignature, MilestoneRecord, now
from backend.db.statements import insert_or_ignore
from backend.domain.schemas import AttestationIn
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.memory import BoundedMap
from backend.services.auth import Principal
from backend.services.wakeup import wake_workers

INSERT_RECORD = insert_or_ignore(
    AttestationRecord.__table__,
    "digest",
    (
        "digest",
        "agreement_pk",
        "milestone_index",
        "metric_id",
        "value",
        "observed_at",
        "evidence_hash",
        "expires_at",
        "received_at",
    ),
)
INSERT_SIGNATURES = insert_or_ignore(
    AttestationSignature.__table__,
    "digest, signer",
    (
        "digest",
        "signer",
        "signature",
        "pushed_by",
        "received_at",
    ),
)
# An attestation's columns with one row per signer.
STORED = (
    select(AttestationRecord.__table__, AttestationSignature.signer)
    .join(AttestationSignature.__table__, AttestationSignature.digest == AttestationRecord.digest)
    .where(AttestationRecord.digest == bindparam("digest"))
    .order_by(AttestationSignature.signer)
)


@dataclass(frozen=True)
class MilestoneFacts:
    metric_id: str
    target: int
    higher_is_better: bool


@dataclass(frozen=True)
class AgreementFacts:
    """What intake checks against, fixed once the terms are proposed (their hash is the id), so
    each replica keeps it in memory instead of reading the agreement on every push."""

    pk: int
    agreement_id: str
    chain_id: int
    escrow: str
    oracles: frozenset[str]
    threshold: int
    milestones: tuple[MilestoneFacts, ...]


# One row per milestone, in order; built once (building a statement costs more than running it).
FACTS = (
    select(
        Agreement.id,
        Agreement.chain_id,
        Agreement.escrow,
        Agreement.oracles,
        Agreement.threshold,
        MilestoneRecord.metric_id,
        MilestoneRecord.target,
        MilestoneRecord.higher_is_better,
    )
    .join(MilestoneRecord, MilestoneRecord.agreement_pk == Agreement.id)
    .where(Agreement.agreement_id == bindparam("agreement_id"))
    .order_by(MilestoneRecord.index)
)


def facts_of(session: Session, agreement_id: str, known: BoundedMap[str, AgreementFacts]) -> AgreementFacts:
    """The agreement's facts: from this replica's memory, else from one query (then kept)."""
    key = agreement_id.lower()
    facts = known.get(key)
    if facts is None:
        rows = session.connection().execute(FACTS, {"agreement_id": key}).all()
        if not rows:
            raise NotFound(f"no agreement with id {agreement_id}")
        first = rows[0]
        facts = AgreementFacts(
            first.id,
            key,
            first.chain_id,
            first.escrow,
            frozenset(first.oracles),
            first.threshold,
            tuple(MilestoneFacts(r.metric_id, r.target, r.higher_is_better) for r in rows),
        )
        known.put(key, facts)
    return facts


def intake(session: Session, principal: Principal, body: AttestationIn, known: BoundedMap[str, AgreementFacts]) -> dict:
    """Checks every signature, then stores the attestation and the new signatures in one
    transaction of plain INSERT ... ON CONFLICT DO NOTHING (a repeat or a concurrent push of the
    same digest changes nothing); returns the attestation as `describe` does."""
    msg = body.attestation
    agreement = facts_of(session, msg.agreementId, known)
    if msg.milestoneIndex >= len(agreement.milestones):
        raise InvalidInput(
            f"agreement {msg.agreementId} has no milestone {msg.milestoneIndex}", field="attestation.milestoneIndex"
        )
    milestone = agreement.milestones[msg.milestoneIndex]
    if msg.metricId != milestone.metric_id:
        raise InvalidInput(
            f"milestone {msg.milestoneIndex} measures {milestone.metric_id}, not {msg.metricId}",
            field="attestation.metricId",
        )
    att = Attestation.from_json(msg.model_dump())
    digest = "0x" + typed_data.attestation_digest(att, agreement.chain_id, agreement.escrow).hex()
    if body.digest is not None and body.digest != digest:
        raise InvalidInput(
            f"the digest of this attestation on {agreement.escrow} is {digest}, not {body.digest}", field="digest"
        )
    pairs = {s.signer: s.signature for s in body.signatures}
    if body.signer and body.signature:
        pairs[body.signer] = body.signature
    if not pairs:
        raise InvalidInput("no signature: send `signer` and `signature`, or `signatures`", field="signatures")
    for signer, signature in pairs.items():
        _check_signature(agreement, digest, signer, signature)

    record = {
        "digest": digest,
        "agreement_pk": agreement.pk,
        "milestone_index": msg.milestoneIndex,
        "metric_id": msg.metricId,
        "value": msg.value,
        "observed_at": msg.observedAt,
        "evidence_hash": msg.evidenceHash,
        "expires_at": msg.expiresAt,
        "received_at": now(),
    }
    signatures = [
        {"digest": digest, "signer": k, "signature": v, "pushed_by": principal.label, "received_at": now()}
        for k, v in pairs.items()
    ]
    session.execute(INSERT_RECORD, record)
    session.execute(INSERT_SIGNATURES, signatures)
    stored = session.execute(STORED, {"digest": digest}).all()
    if len(stored) >= agreement.threshold:
        wake_workers(session)  # automation may settle it now
    session.commit()
    return describe(stored[0], agreement, [row.signer for row in stored])


def _check_signature(agreement: AgreementFacts, digest: str, signer: str, signature: str) -> None:
    try:
        recovered = recover(bytes.fromhex(digest[2:]), bytes.fromhex(signature[2:]))
    except InvalidAttestation as exc:
        raise InvalidInput(f"signature of {signer}: {exc}", field="signature") from None
    if recovered.hex() != signer[2:].lower():
        raise InvalidInput(
            f"the signature is by 0x{recovered.hex()}, not {signer} (is the attestation exactly as signed?)",
            field="signature",
        )
    if signer not in agreement.oracles:
        raise Forbidden(f"{signer} is not in the oracle set of agreement {agreement.agreement_id}")


def for_agreement(session: Session, agreement: Agreement) -> list[AttestationRecord]:
    """In the order received; within one second (the receipt's resolution) in the order observed."""
    query = select(AttestationRecord).where(AttestationRecord.agreement_pk == agreement.id)
    order = (AttestationRecord.received_at, AttestationRecord.observed_at, AttestationRecord.digest)
    return list(session.scalars(query.order_by(*order)))


def describe(record, agreement: Agreement | AgreementFacts, signers: list[str] | None = None) -> dict:
    """`record`: the stored row (or anything with its columns) and, unless `signers` is given,
    its signatures."""
    milestone = agreement.milestones[record.milestone_index]
    meets = payout.meets_target(milestone, record.value)
    signers = sorted(
        signers if signers is not None else (s.signer for s in record.signatures), key=lambda a: int(a, 16)
    )
    return {
        "digest": record.digest,
        "agreement_id": agreement.agreement_id,
        "milestone_index": record.milestone_index,
        "metric_id": record.metric_id,
        "value": record.value,
        "observed_at": record.observed_at,
        "evidence_hash": record.evidence_hash,
        "expires_at": record.expires_at,
        "received_at": record.received_at,
        "signers": signers,
        "threshold": agreement.threshold,
        "complete": len(signers) >= agreement.threshold,
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
