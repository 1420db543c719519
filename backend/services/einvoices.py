"""EN 16931 documents of issued invoices: built once from the parties' profiles in force, the price at the
payment's block and the payout figures, then frozen (invoice_documents), so a document never changes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attestpay import payout, pricing
from attestpay.profiles import PartyProfile
from backend.chain import ChainGateway
from backend.db.models import Agreement, ChainEvent, Invoice, InvoiceDocument, PartyProfileVersion
from backend.domain import einvoices, vat
from backend.domain.en16931 import EInvoice, TradeParty
from backend.domain.terms import milestone_terms
from backend.errors import Conflict, InvalidInput, NotFound
from backend.services import profiles


def document(session: Session, chain: ChainGateway, sources: dict[str, pricing.PriceSource], number: str) -> EInvoice:
    """The frozen EN 16931 document of invoice `number`; raises Conflict when it cannot be made (yet)."""
    record = session.scalar(select(Invoice).where(Invoice.number == number))
    if record is None:
        raise NotFound(f"no invoice {number}")
    frozen = session.get(InvoiceDocument, record.id)
    if frozen is not None:
        return einvoices.from_facts(frozen.facts)
    try:
        doc = _build(session, chain, sources, record)
    except (einvoices.NoEInvoice, pricing.PriceUnavailable, vat.VatMismatch) as exc:
        raise Conflict(str(exc)) from exc
    session.add(InvoiceDocument(invoice_id=record.id, facts=einvoices.to_facts(doc)))
    try:
        session.commit()
    except IntegrityError:  # another replica froze it first, from the same facts: keep the stored one
        session.rollback()
        return einvoices.from_facts(session.get(InvoiceDocument, record.id).facts)
    return doc


def _build(session: Session, chain: ChainGateway, sources, record: Invoice) -> EInvoice:
    agreement = session.get(Agreement, record.agreement_pk)
    m = agreement.milestones[record.milestone_index]
    event = session.scalar(
        select(ChainEvent).where(ChainEvent.tx_hash == record.tx_hash, ChainEvent.log_index == record.log_index)
    )
    funded = session.scalar(
        select(ChainEvent.block_time)
        .where(ChainEvent.agreement_id == agreement.agreement_id, ChainEvent.name == "AgreementFunded")
        .limit(1)
    )
    price = pricing.price_of(sources, record.token, chain.w3, event.block_number)
    token = chain.token(record.token)
    settlement = session.scalar(
        select(Invoice.number).where(
            Invoice.agreement_pk == agreement.id,
            Invoice.milestone_index == m.index,
            Invoice.kind == "settlement",
        )
    )
    previous = agreement.milestones[m.index - 1].deadline if m.index else (funded or record.issued_at)
    figures = (
        payout.compute(milestone_terms(m), m.settled_value, m.settled_observed_at)
        if m.settled_value is not None
        else None
    )
    return einvoices.build(
        kind=record.kind,
        number=record.number,
        issued_at=record.issued_at,
        period_start=min(previous, record.issued_at),
        period_end=m.settled_observed_at or record.issued_at,
        seller=_party(session, agreement, agreement.provider, record.issued_at, "provider"),
        buyer=_party(session, agreement, agreement.client, record.issued_at, "client"),
        currency=price.currency,
        price=price.value,
        symbol=token.symbol,
        decimals=token.decimals,
        agreement_id=agreement.agreement_id,
        agreement_title=agreement.title,
        milestone_title=f"Milestone {m.index + 1}, {m.title}",
        measured=_measured(m),
        figures=figures,
        paid=record.total,
        to_client=int(event.args.get("toClient", 0)),
        holdback_due_at=(m.settled_at + m.holdback_period) if m.settled_at else None,
        on_holdback=bool(event.args.get("holdback", False)),
        settlement_invoice=settlement,
        tx_hash=record.tx_hash,
        chain_id=agreement.chain_id,
        escrow=agreement.escrow,
        agreed_vat=agreement.vat,
    )


def check_agreed_vat(session: Session, agreement: Agreement, at: int) -> None:
    """Refuses (InvalidInput on `vat`) an agreed VAT treatment that the parties' profiles in force at
    `at` contradict; with a profile missing it cannot be judged yet (the invoice checks it again)."""
    if not agreement.vat:
        return
    rows = [profiles.in_force(session, w, agreement.agreement_id, at) for w in (agreement.provider, agreement.client)]
    if None in rows:
        return
    seller, buyer = (_trade_party(row) for row in rows)
    try:
        vat.treatment(agreement.vat, seller, buyer)
    except vat.VatMismatch as exc:
        raise InvalidInput(str(exc), field="vat") from exc


def _party(session: Session, agreement: Agreement, wallet: str, at: int, role: str) -> TradeParty:
    row: PartyProfileVersion | None = profiles.in_force(session, wallet, agreement.agreement_id, at)
    if row is None:
        raise Conflict(f"the {role} {wallet} has no profile: it signs one first (POST /v1/profiles)")
    return _trade_party(row)


def _trade_party(row: PartyProfileVersion) -> TradeParty:
    p, wallet = PartyProfile(**row.fields), row.wallet
    return TradeParty(
        p.legal_name,
        p.street,
        p.city,
        p.postcode,
        p.country,
        wallet,
        p.vat_id or None,
        p.registration_id or None,
        p.email or None,
        p.iban or None,
    )


def _measured(m) -> str:
    spec = m.spec or {}
    decimals, unit = int(spec.get("decimals", 0)), spec.get("unit", "")
    scale = Decimal(10) ** decimals

    def show(v: int) -> str:
        return f"{Decimal(v) / scale:.{decimals}f}"

    if m.settled_value is None:
        return spec.get("name", "")
    relation = "at least" if m.higher_is_better else "at most"
    return f"{spec.get('name', 'metric')} {show(m.settled_value)} {unit} (target {relation} {show(m.target)})".strip()
