"""From an escrow payment to an EN 16931 document (pure): which document a payment is, its lines, its
VAT treatment (backend.domain.vat) and its fiat figures.

- A settlement is an invoice of the whole net earned (base and bonus as lines, the late penalty as an
  allowance), paid on-chain now except the holdback, which is the amount due at the warranty's end.
- A holdback release pays that amount due: it is a payment against the settlement's invoice, not a
  new invoice (no second EN 16931 document, or the revenue would be invoiced twice).
- A dispute split of an unsettled milestone is an invoice of the provider's share; of a holdback, a
  credit note of the client's share against the settlement's invoice.
Escrowed amounts include VAT where VAT applies (the client escrows what it will pay in total)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal

from attestpay.terms import Payout
from backend.domain import vat
from backend.domain.en16931 import (
    CREDIT_NOTE,
    INVOICE,
    PENALTY_REASON,
    EInvoice,
    Line,
    TradeParty,
    cents,
)


class NoEInvoice(ValueError):
    """This payment has no EN 16931 document of its own (a holdback release), or it cannot have one yet."""


class Money:
    """Token base units to fiat at one price; VAT-inclusive amounts to their net part."""

    def __init__(self, price: Decimal, decimals: int, vat_rate: Decimal):
        self.price, self.scale, self.gross_up = price, Decimal(10) ** decimals, 1 + vat_rate / 100

    def fiat(self, units: int) -> Decimal:
        return cents(Decimal(units) / self.scale * self.price)

    def net(self, units: int) -> Decimal:
        return cents(Decimal(units) / self.scale * self.price / self.gross_up)


def build(
    *,
    kind: str,
    number: str,
    issued_at: int,
    period_start: int,
    period_end: int,
    seller: TradeParty,
    buyer: TradeParty,
    currency: str,
    price: Decimal,
    symbol: str,
    decimals: int,
    agreement_id: str,
    agreement_title: str,
    milestone_title: str,
    measured: str,
    figures: Payout | None,
    paid: int,
    to_client: int,
    holdback_due_at: int | None,
    on_holdback: bool,
    settlement_invoice: str | None,
    tx_hash: str,
    chain_id: int,
    escrow: str,
    agreed_vat: dict | None = None,
) -> EInvoice:
    """The payment's document; raises VatMismatch when the agreed VAT treatment contradicts the profiles."""
    category, rate = vat.treatment(agreed_vat, seller, buyer)
    money = Money(price, decimals, rate)

    def units(amount: int) -> str:
        return f"{Decimal(amount) / Decimal(10) ** decimals:,.{min(decimals, 6)}f} {symbol}"

    common = dict(
        number=number,
        issue_date=_day(issued_at),
        period_start=_day(period_start),
        period_end=_day(period_end),
        seller=seller,
        buyer=buyer,
        currency=currency,
        vat_category=category,
        vat_rate=rate,
        payment_reference=tx_hash,
        contract_reference=agreement_id,
        buyer_reference=agreement_title[:200],
        payment_note=f"{units(paid)} paid by escrow {escrow} on chain {chain_id} at {price} {currency} per {symbol}",
    )
    if kind == "holdback":
        raise NoEInvoice(f"a holdback release pays the amount due on invoice {settlement_invoice}: no new invoice")
    if kind == "settlement":
        assert figures is not None
        lines = [
            Line(
                f"{milestone_title}: {measured}",
                money.net(figures.base),
                f"{units(figures.base)} base ({figures.earned_bps / 100:.2f}% earned)",
            )
        ]
        if figures.bonus_earned:
            lines.append(
                Line(
                    f"{milestone_title}: performance bonus",
                    money.net(figures.bonus_earned),
                    units(figures.bonus_earned),
                )
            )
        allowances = ()
        if figures.penalty:
            code, reason = PENALTY_REASON
            allowances = ((code, f"{reason} ({figures.penalty_bps / 100:.2f}%)", money.net(figures.penalty)),)
        due = f"holdback of {units(figures.holdback)} due at the warranty's end" if figures.holdback else ""
        return EInvoice(
            type_code=INVOICE,
            lines=tuple(lines),
            allowances=allowances,
            prepaid=money.fiat(paid),
            due_date=_day(holdback_due_at) if figures.holdback and holdback_due_at else None,
            notes=(due,) if due else (),
            **common,
        )
    if kind == "dispute" and not on_holdback:
        line = Line(f"{milestone_title}: share awarded in dispute resolution", money.net(paid), units(paid))
        return EInvoice(type_code=INVOICE, lines=(line,), prepaid=money.fiat(paid), **common)
    if kind == "dispute":
        if not to_client:
            raise NoEInvoice(f"the whole holdback went to the provider: it pays invoice {settlement_invoice}")
        line = Line(
            f"{milestone_title}: holdback returned to the client in dispute resolution",
            money.net(to_client),
            units(to_client),
        )
        return EInvoice(
            type_code=CREDIT_NOTE,
            lines=(line,),
            prepaid=money.fiat(to_client),
            preceding_invoice=settlement_invoice,
            **common,
        )
    raise NoEInvoice(f"unknown invoice kind {kind!r}")


def _day(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def to_facts(invoice: EInvoice) -> dict:
    """JSON to freeze with the invoice (Decimals and dates as text)."""
    return _jsonable(asdict(invoice))


def from_facts(facts: dict) -> EInvoice:
    f = dict(facts)
    for key in ("issue_date", "period_start", "period_end", "due_date"):
        f[key] = date.fromisoformat(f[key]) if f[key] else None
    for key in ("vat_rate", "prepaid"):
        f[key] = Decimal(f[key])
    f["seller"], f["buyer"] = TradeParty(**f["seller"]), TradeParty(**f["buyer"])
    f["lines"] = tuple(Line(x["name"], Decimal(x["amount"]), x["note"]) for x in f["lines"])
    f["allowances"] = tuple((code, reason, Decimal(amount)) for code, reason, amount in f["allowances"])
    f["notes"] = tuple(f["notes"])
    return EInvoice(**f)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value
