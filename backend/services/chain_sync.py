"""The escrow's events applied to the database. A party reports a mined transaction (until the
indexer follows the chain by itself); each event is applied once, keyed by (tx hash, log index),
so a report may repeat. Settlements and holdback releases issue their invoices here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attestpay import payout
from backend.chain import ChainGateway, _jsonable
from backend.db.models import Agreement, ChainEvent, Invoice, Milestone
from backend.domain.invoices import holdback_lines, settlement_lines
from backend.domain.terms import milestone_terms
from backend.errors import InvalidInput

FINAL = {"settled", "reclaimed", "resolved"}


def record_transaction(session: Session, chain: ChainGateway, tx_hash: str) -> list[ChainEvent]:
    """Applies the escrow events of a mined transaction; returns every event it carries."""
    receipt = chain.receipt(tx_hash)
    if receipt["to"] != chain.escrow.address:
        raise InvalidInput(f"transaction {tx_hash} was not sent to the escrow {chain.escrow.address}", field="tx_hash")
    block_time = chain.block_time(receipt["blockNumber"])
    events = []
    for event in chain.escrow_events(receipt):
        events.append(apply(session, event, block_time, receipt["from"]))
    session.commit()
    return events


def apply(session: Session, event, block_time: int, sender: str) -> ChainEvent:
    """Stores the event and updates what it changes, once (a repeat returns the stored row)."""
    tx_hash, log_index = "0x" + bytes(event.transactionHash).hex(), event.logIndex
    existing = session.scalar(select(ChainEvent).where(ChainEvent.tx_hash == tx_hash, ChainEvent.log_index == log_index))
    if existing is not None:
        return existing
    args = dict(event.args)
    agreement_id = "0x" + args["agreementId"].hex() if "agreementId" in args else None
    row = ChainEvent(
        tx_hash=tx_hash, log_index=log_index, block_number=event.blockNumber, block_time=block_time,
        agreement_id=agreement_id, name=event.event, args=_json_args(args), sender=sender,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # applied by a concurrent request
        return session.scalar(select(ChainEvent).where(ChainEvent.tx_hash == tx_hash, ChainEvent.log_index == log_index))
    agreement = session.scalar(select(Agreement).where(Agreement.agreement_id == agreement_id)) if agreement_id else None
    if agreement is not None:
        _update(session, agreement, row)
    return row


def _json_args(args: dict) -> dict:
    def convert(v):
        if isinstance(v, dict) or hasattr(v, "keys"):
            return {k: convert(v[k]) for k in v.keys()}
        if isinstance(v, (list, tuple)):
            return [convert(x) for x in v]
        return _jsonable(v)

    return {k: convert(v) for k, v in args.items()}


def _update(session: Session, agreement: Agreement, event: ChainEvent) -> None:
    a, name = event.args, event.name
    m: Milestone | None = agreement.milestones[int(a["index"])] if "index" in a and int(a["index"]) < len(agreement.milestones) else None
    if name == "AgreementCreated" and agreement.status in ("proposed", "consented"):
        agreement.status = "consented" if int(a["phase"]) == 3 else agreement.status
    elif name == "AgreementConsented":
        agreement.status = "consented"
    elif name == "AgreementFunded":
        agreement.status = "active"
    elif name == "AgreementCancelled":
        agreement.status = "cancelled"
    elif name == "MilestoneApproved" and m:
        m.client_approved = True
    elif name == "MilestoneSettled" and m:
        m.status = "settled"
        m.settled_value, m.settled_observed_at, m.settled_at = int(a["value"]), int(a["observedAt"]), event.block_time
        m.settled_attestation = a["attestation"]
        m.paid_now, m.holdback, m.refund = int(a["paidNow"]), int(a["holdback"]), int(a["refund"])
        m.holdback_status = "held" if m.holdback else None
        figures = payout.compute(milestone_terms(m), m.settled_value, m.settled_observed_at)
        _invoice(session, agreement, m, event, "settlement", settlement_lines(figures, m.paid_now), m.paid_now)
    elif name == "HoldbackReleased" and m:
        m.holdback_status = "released"
        _invoice(session, agreement, m, event, "holdback", holdback_lines(int(a["amount"])), int(a["amount"]))
    elif name == "MilestoneReclaimed" and m:
        m.status = "reclaimed"
    elif name == "DisputeOpened" and m:
        if a["holdback"]:
            m.holdback_status = "disputed"
        else:
            m.status = "disputed"
    elif name == "DisputeResolved" and m:
        if a["holdback"]:
            m.holdback_status = "resolved"
        else:
            m.status = "resolved"
    if agreement.status == "active" and all(_final(x) for x in agreement.milestones):
        agreement.status = "completed"


def _final(m: Milestone) -> bool:
    return m.status in FINAL and m.holdback_status not in ("held", "disputed")


def _invoice(session: Session, agreement: Agreement, m: Milestone, event: ChainEvent, kind: str, lines: list[dict], total: int) -> None:
    invoice = Invoice(
        agreement_pk=agreement.id, milestone_index=m.index, kind=kind, tx_hash=event.tx_hash, log_index=event.log_index,
        issued_at=event.block_time, token=agreement.token, lines=lines, total=total,
    )
    session.add(invoice)
    session.flush()
    invoice.number = f"AP-{invoice.id:06d}"
