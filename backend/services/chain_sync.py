"""The escrow's and registry's events applied to the database: by the indexer as it follows the
chain, or at once when a party reports a mined transaction. Each event is applied once, keyed by
(tx hash, log index), so a report and the indexer may both bring it. Everything chain-derived is a
function of the stored events: a reorganisation deletes the events of the replaced blocks and
replays what remains. Settlements and holdback releases issue their invoices here; every event of
an agreement is queued for its parties' webhooks."""

from __future__ import annotations

from eth_utils import encode_hex
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attestpay import payout
from backend.chain import ChainGateway, jsonable
from backend.db.models import Agreement, AttestationRecord, ChainEvent, Invoice, InvoiceSeries, MilestoneRecord
from backend.domain.invoices import dispute_lines, holdback_lines, settlement_lines
from backend.domain.terms import milestone_terms
from backend.errors import InvalidInput
from backend.services import invoice_series, webhooks

FINAL = {"settled", "reclaimed", "resolved"}
INVOICED = {"MilestoneSettled", "HoldbackReleased", "DisputeResolved"}  # the events that issue an invoice


def record_transaction(session: Session, chain: ChainGateway, tx_hash: str) -> list[ChainEvent]:
    """Applies the escrow events of a mined transaction; returns every event it carries. The
    transaction may be sent to another contract that calls the escrow (a Safe, a batcher)."""
    receipt = chain.receipt(tx_hash)
    escrow_events = chain.escrow_events(receipt)
    if receipt["to"] != chain.escrow.address and not escrow_events:
        raise InvalidInput(
            f"transaction {tx_hash} neither was sent to the escrow {chain.escrow.address} nor called it",
            field="tx_hash",
        )
    block_time = chain.block_time(receipt["blockNumber"])
    events = []
    for event in escrow_events:
        events.append(apply(session, event, block_time, receipt["from"]))
    session.commit()
    return events


def apply(session: Session, event, block_time: int, sender: str) -> ChainEvent:
    """Stores the event and updates what it changes, once (a repeat returns the stored row)."""
    tx_hash, log_index = encode_hex(event.transactionHash), event.logIndex
    existing = session.scalar(
        select(ChainEvent).where(ChainEvent.tx_hash == tx_hash, ChainEvent.log_index == log_index)
    )
    if existing is not None:
        return existing
    args = dict(event.args)
    agreement_id = encode_hex(args["agreementId"]) if "agreementId" in args else None
    agreement = (
        session.scalar(select(Agreement).where(Agreement.agreement_id == agreement_id)) if agreement_id else None
    )
    if agreement is not None and event.event in INVOICED:
        # The issuer's series before the event's row: every path (indexer, a party's report) takes
        # the two locks in this order, so a report and the indexer never wait on each other in a cycle.
        invoice_series.hold(session, agreement.provider)
    row = ChainEvent(
        tx_hash=tx_hash,
        log_index=log_index,
        block_number=event.blockNumber,
        block_hash=encode_hex(event.blockHash),
        block_time=block_time,
        agreement_id=agreement_id,
        name=event.event,
        args=_json_args(args),
        sender=sender,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # applied by a concurrent request
        return session.scalar(
            select(ChainEvent).where(ChainEvent.tx_hash == tx_hash, ChainEvent.log_index == log_index)
        )
    if row.name == "SignatureRevoked":
        _refresh_revoked(session, row.args["digest"])
    if agreement is not None:
        _update(session, agreement, row)
        webhooks.notify(session, agreement, row, "agreement.event")
    return row


def roll_back(session: Session, after_block: int) -> list[ChainEvent]:
    """Forgets every event above `after_block` (blocks a reorganisation replaced) and replays the
    agreements they touched from the events that remain."""
    removed = list(session.scalars(select(ChainEvent).where(ChainEvent.block_number > after_block)))
    if not removed:
        return []
    _void_invoices(session, {e.tx_hash for e in removed})
    session.execute(delete(ChainEvent).where(ChainEvent.block_number > after_block))
    for digest in {e.args["digest"] for e in removed if e.name == "SignatureRevoked"}:
        _refresh_revoked(session, digest)
    touched = {e.agreement_id for e in removed if e.agreement_id}
    for agreement in session.scalars(select(Agreement).where(Agreement.agreement_id.in_(touched))):
        replay(session, agreement)
        for e in removed:
            if e.agreement_id == agreement.agreement_id:
                webhooks.notify(session, agreement, e, "agreement.event_rolled_back")
    return removed


def _void_invoices(session: Session, tx_hashes: set[str]) -> None:
    """Deletes the invoices of replaced transactions; each series then continues after its highest
    number left (replaced blocks are the chain's latest, so their invoices were the series' last)."""
    replaced = Invoice.tx_hash.in_(tx_hashes)
    issuers = set(session.scalars(select(Invoice.issuer).where(replaced, Invoice.issuer.is_not(None))))
    session.execute(delete(Invoice).where(replaced))
    for issuer in issuers:
        last = session.scalar(select(func.max(Invoice.sequence)).where(Invoice.issuer == issuer))
        invoice_series.rewind(session, issuer, last or 0)


def replay(session: Session, agreement: Agreement) -> None:
    """Recomputes the agreement's chain-derived state from its stored events, in chain order."""
    agreement.status = "consented" if len(agreement.consents) >= 2 else "proposed"
    for m in agreement.milestones:
        m.status, m.client_approved, m.holdback_status = "open", False, None
        m.settled_value = m.settled_observed_at = m.settled_at = m.settled_attestation = None
        m.paid_now = m.holdback = m.refund = None
    events = session.scalars(
        select(ChainEvent)
        .where(ChainEvent.agreement_id == agreement.agreement_id)
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )
    for event in events:
        _update(session, agreement, event)


def forget_everything(session: Session) -> None:
    """The start of a rebuild: no events, no invoices, every agreement as it was before the chain."""
    session.execute(delete(Invoice))
    session.execute(delete(InvoiceSeries))
    session.execute(delete(ChainEvent))
    session.execute(update(AttestationRecord).values(revoked=False))
    for agreement in session.scalars(select(Agreement).where(Agreement.agreement_id.is_not(None))):
        replay(session, agreement)


def revoked_signers(session: Session, digest: str) -> set[str]:
    """The signers who withdrew their signature of `digest` in the escrow (by the stored events)."""
    query = select(ChainEvent.args["signer"].as_string()).where(
        ChainEvent.name == "SignatureRevoked", ChainEvent.args["digest"].as_string() == digest
    )
    return set(session.scalars(query))


def _refresh_revoked(session: Session, digest: str) -> None:
    """An attestation counts as revoked once its unrevoked signatures fall below the threshold: a
    revocation withdraws only its signer's own signature (escrow-semantics.md, "Anchoring")."""
    record = session.get(AttestationRecord, digest)
    if record is None:
        return
    threshold = session.scalar(select(Agreement.threshold).where(Agreement.id == record.agreement_pk))
    withdrawn = revoked_signers(session, digest)
    record.revoked = sum(s.signer not in withdrawn for s in record.signatures) < threshold


def _json_args(args: dict) -> dict:
    def convert(v):
        if isinstance(v, dict) or hasattr(v, "keys"):
            return {k: convert(v[k]) for k in v.keys()}
        if isinstance(v, (list, tuple)):
            return [convert(x) for x in v]
        return jsonable(v)

    return {k: convert(v) for k, v in args.items()}


def _update(session: Session, agreement: Agreement, event: ChainEvent) -> None:
    a, name = event.args, event.name
    m: MilestoneRecord | None = (
        agreement.milestones[int(a["index"])] if "index" in a and int(a["index"]) < len(agreement.milestones) else None
    )
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
        to_provider = int(a["toProvider"])
        _invoice(
            session,
            agreement,
            m,
            event,
            "dispute",
            dispute_lines(int(a["providerShareBps"]), to_provider, int(a["toClient"])),
            to_provider,
        )
    if agreement.status == "active" and all(_final(x) for x in agreement.milestones):
        agreement.status = "completed"


def _final(m: MilestoneRecord) -> bool:
    return m.status in FINAL and m.holdback_status not in ("held", "disputed")


def _invoice(
    session: Session,
    agreement: Agreement,
    m: MilestoneRecord,
    event: ChainEvent,
    kind: str,
    lines: list[dict],
    total: int,
) -> None:
    """Issues the event's invoice unless it exists (a replay keeps the invoices it already issued)."""
    issued = session.scalar(
        select(Invoice.id).where(Invoice.tx_hash == event.tx_hash, Invoice.log_index == event.log_index)
    )
    if issued is not None:
        return
    invoice = Invoice(
        agreement_pk=agreement.id,
        milestone_index=m.index,
        kind=kind,
        tx_hash=event.tx_hash,
        log_index=event.log_index,
        issued_at=event.block_time,
        token=agreement.token,
        lines=lines,
        total=total,
    )
    paid_against = _settlement_number(session, agreement, m) if pays_earlier_invoice(kind, event.args) else None
    if paid_against is not None:
        invoice.number = f"{paid_against}-P"
    else:
        invoice.issuer = agreement.provider
        invoice.sequence, invoice.number = invoice_series.take(session, agreement.provider)
    session.add(invoice)
    session.flush()


def pays_earlier_invoice(kind: str, args: dict) -> bool:
    """A holdback paid out (released, or wholly awarded to the provider in a dispute) pays the amount
    due of the settlement's invoice: it is no new invoice and takes no number of the series."""
    return kind == "holdback" or (kind == "dispute" and bool(args.get("holdback")) and not int(args["toClient"]))


def _settlement_number(session: Session, agreement: Agreement, m: MilestoneRecord) -> str | None:
    return session.scalar(
        select(Invoice.number).where(
            Invoice.agreement_pk == agreement.id, Invoice.milestone_index == m.index, Invoice.kind == "settlement"
        )
    )
