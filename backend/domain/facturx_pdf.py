"""Factur-X / ZUGFeRD: the human-readable invoice as PDF/A-3B (fpdf2 embeds the font and the sRGB output
intent) with the EN16931 CII XML attached as factur-x.xml by the `factur-x` package, which also writes
the Factur-X XMP metadata. One file a person reads and a buyer's system ingests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from facturx import generate_from_binary

from backend.domain.en16931 import CREDIT_NOTE, EXEMPTION, STANDARD, EInvoice, TradeParty, to_cii

if TYPE_CHECKING:
    from fpdf import FPDF

# Debian's fonts-dejavu-core (on the machine image; .ci/run installs it where missing): PDF/A needs
# every font embedded, which the PDF core fonts are not.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def render(inv: EInvoice) -> bytes:
    """The Factur-X PDF/A-3B of `inv` (EN16931 profile), its XML checked against the XSD on the way."""
    return generate_from_binary(
        _visual(inv),
        to_cii(inv),
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": inv.seller.name,
            "keywords": "Factur-X, invoice, AttestPay",
            "title": f"{inv.seller.name}: {_title(inv)} {inv.number}",
            "subject": f"{_title(inv)} {inv.number} to {inv.buyer.name}",
        },
        lang="en-GB",
    )


def _title(inv: EInvoice) -> str:
    return "Credit note" if inv.type_code == CREDIT_NOTE else "Invoice"


def _visual(inv: EInvoice) -> bytes:
    from fpdf import FPDF  # 0.2 s to import: paid where a PDF is made, not by every process

    pdf = FPDF(format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_lang("en-GB")
    pdf.set_title(f"{_title(inv)} {inv.number}")
    pdf.set_author(inv.seller.name)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 12, f"{_title(inv)} {inv.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    dates = (
        f"Issued {inv.issue_date:%d %B %Y} · service period {inv.period_start:%d %B %Y} to {inv.period_end:%d %B %Y}"
    )
    pdf.multi_cell(0, 5, dates, new_x="LMARGIN", new_y="NEXT")
    if inv.preceding_invoice:
        pdf.multi_cell(0, 5, f"Credits invoice {inv.preceding_invoice}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    top = pdf.get_y()
    _party(pdf, "From (seller)", inv.seller, 10)
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    _party(pdf, "To (buyer)", inv.buyer, 110)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 4)
    pdf.multi_cell(0, 5, f"Agreement: {inv.buyer_reference} ({inv.contract_reference})", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(140, 7, "Item", border="B")
    pdf.cell(0, 7, f"Amount ({inv.currency})", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    for line in inv.lines:
        _row(pdf, line.name, line.amount, note=line.note)
    for _, reason, amount in inv.allowances:
        _row(pdf, reason, -amount)
    _row(pdf, "Total before VAT", inv.tax_basis, bold=True, border="T")
    vat = f"VAT {inv.vat_rate.normalize():f}%" if inv.vat_category == STANDARD else EXEMPTION[inv.vat_category][1]
    _row(pdf, vat, inv.tax)
    _row(pdf, "Total", inv.grand_total, bold=True, border="T")
    _row(pdf, "Paid on-chain at issue", -inv.prepaid)
    _row(
        pdf, "Amount due" + (f" by {inv.due_date:%d %B %Y}" if inv.due_date and inv.due > 0 else ""), inv.due, bold=True
    )
    pdf.ln(4)
    pdf.set_font("DejaVu", size=8)
    pdf.multi_cell(
        0, 4, f"Payment: {inv.payment_note}. Transaction {inv.payment_reference}.", new_x="LMARGIN", new_y="NEXT"
    )
    if inv.seller.iban:
        pdf.multi_cell(0, 4, f"Bank transfer of any amount due: IBAN {inv.seller.iban}.", new_x="LMARGIN", new_y="NEXT")
    for note in inv.notes:
        pdf.multi_cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _party(pdf: FPDF, heading: str, party: TradeParty, x: float) -> None:
    pdf.set_x(x)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(95, 5, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    details = [party.name, party.street, f"{party.postcode} {party.city}", party.country]
    details += [f"VAT {party.vat_id}"] if party.vat_id else []
    details += [f"Registration {party.registration_id}"] if party.registration_id else []
    details += [party.email] if party.email else []
    details += [f"Wallet {party.wallet}"]
    for text in details:
        pdf.set_x(x)
        pdf.multi_cell(95, 4.5, text, new_x="LMARGIN", new_y="NEXT")


def _row(pdf: FPDF, label: str, amount, *, note: str = "", bold: bool = False, border: str = "") -> None:
    pdf.set_font("DejaVu", "B" if bold else "", 10)
    pdf.cell(140, 7, label, border=border)
    pdf.cell(0, 7, f"{amount:,.2f}", border=border, align="R", new_x="LMARGIN", new_y="NEXT")
    if note:
        pdf.set_font("DejaVu", size=8)
        pdf.cell(140, 4, f"   {note}", new_x="LMARGIN", new_y="NEXT")
