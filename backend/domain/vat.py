"""VAT treatment of an agreement's invoices (pure): the one both parties agreed in the terms, checked
against their profiles, or, where the terms leave it to AttestPay ("auto"), the one the profiles give.

Agreed treatments: "S" standard rated (at an agreed rate, else the seller's state's standard rate),
"AE" reverse charge between VAT-registered businesses in two EU states, "O" not subject to EU VAT
(a party outside the EU). A treatment the profiles contradict is refused, naming why: an invoice
says exactly what was agreed, or it is not made."""

from __future__ import annotations

from decimal import Decimal

from attestpay.profiles import EU
from backend.domain.en16931 import OUTSIDE_SCOPE, REVERSE_CHARGE, STANDARD, TradeParty

AUTO = "auto"
CATEGORIES = (STANDARD, REVERSE_CHARGE, OUTSIDE_SCOPE)

# Standard VAT rates of EU member states, percent (2026); a domestic supply is taxed at the seller's.
STANDARD_RATES = {
    "AT": 20, "BE": 21, "BG": 20, "CY": 19, "CZ": 21, "DE": 19, "DK": 25, "EE": 24, "ES": 21,
    "FI": 25.5, "FR": 20, "GR": 24, "HR": 25, "HU": 27, "IE": 23, "IT": 22, "LT": 21, "LU": 17,
    "LV": 21, "MT": 18, "NL": 21, "PL": 23, "PT": 23, "RO": 21, "SE": 25, "SI": 22, "SK": 23,
}  # fmt: skip


class VatMismatch(ValueError):
    """The agreed VAT treatment contradicts the parties' profiles; the message says how."""


def derived(seller: TradeParty, buyer: TradeParty) -> tuple[str, Decimal]:
    """Reverse charge between VAT-registered businesses in two EU states; the seller's standard rate
    within one state; outside the scope of EU VAT when either side is outside the EU."""
    if seller.country not in EU or buyer.country not in EU:
        return OUTSIDE_SCOPE, Decimal(0)
    if seller.country != buyer.country and seller.vat_id and buyer.vat_id:
        return REVERSE_CHARGE, Decimal(0)
    return STANDARD, Decimal(str(STANDARD_RATES[seller.country]))


def treatment(agreed: dict | None, seller: TradeParty, buyer: TradeParty) -> tuple[str, Decimal]:
    """The category and rate (percent) of an invoice from `seller` to `buyer` under the agreed terms
    (`{"category": ..., "rate": ...}`; none or "auto": derived from the profiles)."""
    category = (agreed or {}).get("category", AUTO)
    if category == AUTO:
        return derived(seller, buyer)
    where = f"the agreed VAT treatment {category} does not fit the parties ({seller.name}, {seller.country}, to "
    where += f"{buyer.name}, {buyer.country})"
    if category == REVERSE_CHARGE:
        if seller.country not in EU or buyer.country not in EU or seller.country == buyer.country:
            raise VatMismatch(f"{where}: reverse charge is between businesses in two different EU states")
        if not (seller.vat_id and buyer.vat_id):
            raise VatMismatch(f"{where}: reverse charge needs both parties' VAT numbers in their profiles")
        return REVERSE_CHARGE, Decimal(0)
    if category == OUTSIDE_SCOPE:
        if seller.country in EU and buyer.country in EU:
            raise VatMismatch(f"{where}: both are in the EU, so the supply is within the scope of EU VAT")
        return OUTSIDE_SCOPE, Decimal(0)
    if category == STANDARD:
        if seller.country not in EU:
            raise VatMismatch(f"{where}: the seller is outside the EU and charges no EU VAT")
        if not seller.vat_id:
            raise VatMismatch(f"{where}: a seller charging VAT shows its VAT number (the seller's profile has none)")
        rate = agreed.get("rate") if agreed else None
        return STANDARD, Decimal(str(rate)) if rate is not None else Decimal(str(STANDARD_RATES[seller.country]))
    raise VatMismatch(f"unknown VAT category {category!r}: one of {', '.join(CATEGORIES)} or {AUTO}")
