"""Reports drawn from the database (and the registry for anchoring): the audit trail of one
agreement, portfolio analytics, invoice documents."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.chain import ChainGateway
from backend.db.models import Agreement, AttestationRecord, ChainEvent, Invoice
from backend.domain import analytics
from backend.errors import Conflict, NotFound
from backend.services.attestations import describe, for_agreement
from oracle.evidence import EvidenceStore


def audit_pack(chain: ChainGateway, evidence_dir: Path | None, agreement: Agreement) -> tuple[str, bytes]:
    """The agreement's audit pack (auditor/pack.py) as a zip and its file name: built from the chain
    and the published evidence alone, as `attestpay report audit-pack` builds it, not from this database."""
    from auditor import pack

    if evidence_dir is None:
        raise Conflict("this backend has no evidence store (ATTESTPAY_EVIDENCE_DIR): the pack needs the evidence")
    if agreement.agreement_id is None:
        raise Conflict(f"agreement {agreement.id} is a draft: an audit pack is of an agreement on chain")
    try:
        with chain.lock:
            files = pack.build(
                chain.w3, chain.escrow.address, chain.start_block, EvidenceStore(evidence_dir), agreement.agreement_id
            )
    except pack.PackError as exc:
        raise Conflict(str(exc)) from None
    return f"audit-pack-{agreement.agreement_id[:10]}.zip", pack.as_zip(files)


def audit_report(session: Session, chain: ChainGateway, agreement: Agreement) -> dict:
    """Terms, consents, every attestation (signers, evidence, anchoring), then the chain's events
    (fundings, approvals, settlements, releases, disputes) with their transactions, in order."""
    from backend.domain.schemas import AgreementOut

    events = (
        list(
            session.scalars(
                select(ChainEvent)
                .where(ChainEvent.agreement_id == agreement.agreement_id)
                .order_by(ChainEvent.block_number, ChainEvent.log_index)
            )
        )
        if agreement.agreement_id
        else []
    )
    invoices = list(session.scalars(select(Invoice).where(Invoice.agreement_pk == agreement.id).order_by(Invoice.id)))
    return {
        "agreement": AgreementOut.model_validate(agreement, from_attributes=True).model_dump(mode="json"),
        "consents": [
            {"party": c.party, "role": c.role, "terms_hash": c.terms_hash, "signature": c.signature, "at": c.created_at}
            for c in agreement.consents
        ],
        "attestations": [
            describe(r, agreement)
            | {
                "anchoring": anchoring(chain, r, agreement.threshold),
                "signatures": {s.signer: s.signature for s in r.signatures},
            }
            for r in for_agreement(session, agreement)
        ],
        "fundings": [_event(e) for e in events if e.name == "AgreementFunded"],
        "settlements": [_event(e) for e in events if e.name == "MilestoneSettled"],
        "events": [_event(e) for e in events],
        "invoices": [i.number for i in invoices],
    }


def _event(e: ChainEvent) -> dict:
    return {
        "name": e.name,
        "tx_hash": e.tx_hash,
        "log_index": e.log_index,
        "block_number": e.block_number,
        "block_time": e.block_time,
        "sender": e.sender,
        "args": e.args,
    }


def anchoring(chain: ChainGateway, record: AttestationRecord, threshold: int) -> dict:
    """Whether the registry holds the attestation (from the proof an oracle reported), which signers
    withdrew their signature, and whether that leaves it below the threshold (`revoked`), read from
    the chain now."""
    digest = bytes.fromhex(record.digest[2:])
    with chain.lock:
        revoked_by = [s.signer for s in record.signatures if chain.escrow.functions.isRevoked(digest, s.signer).call()]
        revoked = len(record.signatures) - len(revoked_by) < threshold
        if record.anchor_root is None:
            return {"anchored": False, "revoked": revoked, "revoked_by": revoked_by}
        root = bytes.fromhex(record.anchor_root[2:])
        proof = [bytes.fromhex(p[2:]) for p in record.anchor_proof]
        included = chain.registry.functions.isIncluded(root, digest, proof).call()
        anchored_at, leaf_count, anchorer = chain.registry.functions.batch(root).call()
    return {
        "anchored": included,
        "revoked": revoked,
        "revoked_by": revoked_by,
        "root": record.anchor_root,
        "proof": record.anchor_proof,
        "anchored_at": anchored_at,
        "batch_size": leaf_count,
        "anchorer": anchorer,
    }


def portfolio(session: Session, agreements: list[Agreement], now: int) -> dict:
    latest: dict[tuple[int, int], AttestationRecord] = {}
    ids = [a.id for a in agreements]
    if ids:
        query = (
            select(AttestationRecord)
            .where(AttestationRecord.agreement_pk.in_(ids))
            .order_by(AttestationRecord.observed_at)
        )
        for record in session.scalars(query):
            latest[(record.agreement_pk, record.milestone_index)] = record
    return analytics.portfolio(agreements, latest, now)


def invoice(session: Session, number: str) -> tuple[Invoice, dict]:
    record = session.scalar(select(Invoice).where(Invoice.number == number))
    if record is None:
        raise NotFound(f"no invoice {number}")
    agreement = session.get(Agreement, record.agreement_pk)
    m = agreement.milestones[record.milestone_index]
    return record, {
        "number": record.number,
        "kind": record.kind,
        "agreement_id": agreement.agreement_id,
        "agreement_title": agreement.title,
        "milestone_index": m.index,
        "milestone_title": m.title,
        "client": agreement.client,
        "provider": agreement.provider,
        "token": record.token,
        "issued_at": record.issued_at,
        "tx_hash": record.tx_hash,
        "lines": record.lines,
        "total": record.total,
        "refund_to_client": (m.refund or 0) if record.kind == "settlement" else 0,
    }


def invoices_of(session: Session, agreement: Agreement) -> list[str]:
    return list(
        session.scalars(select(Invoice.number).where(Invoice.agreement_pk == agreement.id).order_by(Invoice.id))
    )
