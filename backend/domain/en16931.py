"""EN 16931 e-invoices: one neutral document, written as Factur-X/ZUGFeRD CII (EN16931 profile) and as
UBL 2.1 (Peppol BIS Billing 3.0). Pure: values in, XML bytes out.

The invoice currency is fiat (EN 16931 requires an ISO 4217 code): every token amount is converted
at the price stored with the document, and the token amount, its price and the transaction are
named in the notes and the payment means, so a buyer's system books fiat and an auditor finds the
on-chain payment. Amounts are decimals rounded half-up to the cent, line by line; the totals are
sums of the rounded lines, as BR-CO-10..16 require.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

CENT = Decimal("0.01")
INVOICE, CREDIT_NOTE = "380", "381"
STANDARD, REVERSE_CHARGE, OUTSIDE_SCOPE = "S", "AE", "O"
EXEMPTION = {
    REVERSE_CHARGE: ("VATEX-EU-AE", "Reverse charge: VAT due by the buyer (Article 196, Directive 2006/112/EC)"),
    OUTSIDE_SCOPE: ("VATEX-EU-O", "Not subject to VAT: outside the scope of EU VAT"),
}
PENALTY_REASON = ("95", "Late delivery penalty")  # UNTDID 5189 95: discount (an allowance off the price)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TradeParty:
    """A seller or buyer as the invoice names it: legal name and address first, the wallet as a note."""

    name: str
    street: str
    city: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2
    wallet: str
    vat_id: str | None = None
    registration_id: str | None = None
    email: str | None = None
    iban: str | None = None


@dataclass(frozen=True)
class Line:
    """A charged item (base earned, bonus, released holdback, dispute share) in fiat, with its token amount."""

    name: str
    amount: Decimal  # fiat, before VAT
    note: str


@dataclass(frozen=True)
class EInvoice:
    number: str
    type_code: str  # INVOICE or CREDIT_NOTE
    issue_date: date
    period_start: date
    period_end: date
    seller: TradeParty  # the provider
    buyer: TradeParty  # the client
    currency: str  # ISO 4217, the fiat of the price source
    lines: tuple[Line, ...]
    vat_category: str  # STANDARD, REVERSE_CHARGE or OUTSIDE_SCOPE
    vat_rate: Decimal  # percent; 0 unless STANDARD
    payment_reference: str  # the transaction hash that paid (or refunded) it
    payment_note: str  # chain, escrow, token amount and price in words
    contract_reference: str  # the agreement id
    buyer_reference: str  # the agreement title, as the buyer's routing reference (BT-10)
    allowances: tuple[tuple[str, str, Decimal], ...] = ()  # (reason code, reason, fiat amount)
    prepaid: Decimal = Decimal(0)  # paid on-chain at issue
    due_date: date | None = None  # when what is still due (a holdback) falls due
    preceding_invoice: str | None = None  # a credit note's invoice (BT-25)
    notes: tuple[str, ...] = field(default=())

    @property
    def line_total(self) -> Decimal:
        return sum((cents(line.amount) for line in self.lines), Decimal(0))

    @property
    def allowance_total(self) -> Decimal:
        return sum((cents(amount) for _, _, amount in self.allowances), Decimal(0))

    @property
    def tax_basis(self) -> Decimal:
        return self.line_total - self.allowance_total

    @property
    def tax(self) -> Decimal:
        return cents(self.tax_basis * self.vat_rate / 100) if self.vat_category == STANDARD else Decimal("0.00")

    @property
    def grand_total(self) -> Decimal:
        return self.tax_basis + self.tax

    @property
    def due(self) -> Decimal:
        return self.grand_total - cents(self.prepaid)


def _amount(value: Decimal) -> str:
    return f"{cents(value):.2f}"


def _rate(value: Decimal) -> str:
    return f"{value.normalize():f}"


class _Builder:
    """Appends namespaced children in document order: the schemas are sequences."""

    def __init__(self, nsmap: dict[str, str]):
        self.nsmap = nsmap

    def el(self, parent, tag: str, text: str | None = None, **attrs: str):
        prefix, name = tag.split(":")
        node = etree.SubElement(parent, f"{{{self.nsmap[prefix]}}}{name}", attrs)
        if text is not None:
            node.text = text
        return node


CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def to_cii(inv: EInvoice) -> bytes:
    """Factur-X 1.0 / ZUGFeRD 2 CII in the EN16931 profile (the XML a Factur-X PDF embeds)."""
    b = _Builder(CII_NS)
    root = etree.Element(f"{{{CII_NS['rsm']}}}CrossIndustryInvoice", nsmap=CII_NS)
    context = b.el(root, "rsm:ExchangedDocumentContext")
    b.el(b.el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", "urn:cen.eu:en16931:2017")
    doc = b.el(root, "rsm:ExchangedDocument")
    b.el(doc, "ram:ID", inv.number)
    b.el(doc, "ram:TypeCode", inv.type_code)
    _cii_date(b, b.el(doc, "ram:IssueDateTime"), inv.issue_date)
    for note in (*inv.notes, inv.payment_note):
        b.el(b.el(doc, "ram:IncludedNote"), "ram:Content", note)

    trade = b.el(root, "rsm:SupplyChainTradeTransaction")
    for number, line in enumerate(inv.lines, 1):
        item = b.el(trade, "ram:IncludedSupplyChainTradeLineItem")
        line_doc = b.el(item, "ram:AssociatedDocumentLineDocument")
        b.el(line_doc, "ram:LineID", str(number))
        b.el(b.el(line_doc, "ram:IncludedNote"), "ram:Content", line.note)
        b.el(b.el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.name)
        price = b.el(b.el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        b.el(price, "ram:ChargeAmount", _amount(line.amount))
        b.el(b.el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", "1", unitCode="C62")
        settlement = b.el(item, "ram:SpecifiedLineTradeSettlement")
        _cii_category(b, b.el(settlement, "ram:ApplicableTradeTax"), inv, with_type=True)
        summation = b.el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        b.el(summation, "ram:LineTotalAmount", _amount(line.amount))

    agreement = b.el(trade, "ram:ApplicableHeaderTradeAgreement")
    b.el(agreement, "ram:BuyerReference", inv.buyer_reference)
    _cii_party(b, b.el(agreement, "ram:SellerTradeParty"), inv.seller, inv.vat_category)
    _cii_party(b, b.el(agreement, "ram:BuyerTradeParty"), inv.buyer, inv.vat_category)
    b.el(b.el(agreement, "ram:ContractReferencedDocument"), "ram:IssuerAssignedID", inv.contract_reference)

    delivery = b.el(trade, "ram:ApplicableHeaderTradeDelivery")
    _cii_date(b, b.el(b.el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime"), inv.period_end)

    settle = b.el(trade, "ram:ApplicableHeaderTradeSettlement")
    b.el(settle, "ram:PaymentReference", inv.payment_reference)
    b.el(settle, "ram:InvoiceCurrencyCode", inv.currency)
    means = b.el(settle, "ram:SpecifiedTradeSettlementPaymentMeans")
    if inv.seller.iban:
        b.el(means, "ram:TypeCode", "58")  # SEPA credit transfer, for what is still due
        b.el(means, "ram:Information", inv.payment_note)
        b.el(b.el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", inv.seller.iban)
    else:
        b.el(means, "ram:TypeCode", "ZZZ")  # mutually defined: the escrow's on-chain transfer
        b.el(means, "ram:Information", inv.payment_note)
    tax = b.el(settle, "ram:ApplicableTradeTax")
    b.el(tax, "ram:CalculatedAmount", _amount(inv.tax))
    b.el(tax, "ram:TypeCode", "VAT")
    if inv.vat_category in EXEMPTION:
        b.el(tax, "ram:ExemptionReason", EXEMPTION[inv.vat_category][1])
    b.el(tax, "ram:BasisAmount", _amount(inv.tax_basis))
    b.el(tax, "ram:CategoryCode", inv.vat_category)
    if inv.vat_category in EXEMPTION:
        b.el(tax, "ram:ExemptionReasonCode", EXEMPTION[inv.vat_category][0])
    if inv.vat_category != OUTSIDE_SCOPE:
        b.el(tax, "ram:RateApplicablePercent", _rate(inv.vat_rate))
    period = b.el(settle, "ram:BillingSpecifiedPeriod")
    _cii_date(b, b.el(period, "ram:StartDateTime"), inv.period_start)
    _cii_date(b, b.el(period, "ram:EndDateTime"), inv.period_end)
    for code, reason, amount in inv.allowances:
        allowance = b.el(settle, "ram:SpecifiedTradeAllowanceCharge")
        b.el(b.el(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
        b.el(allowance, "ram:ActualAmount", _amount(amount))
        b.el(allowance, "ram:ReasonCode", code)
        b.el(allowance, "ram:Reason", reason)
        _cii_category(b, b.el(allowance, "ram:CategoryTradeTax"), inv, with_type=True)
    terms = b.el(settle, "ram:SpecifiedTradePaymentTerms")
    b.el(terms, "ram:Description", _terms_text(inv))
    if inv.due_date and inv.due > 0:
        _cii_date(b, b.el(terms, "ram:DueDateDateTime"), inv.due_date)
    total = b.el(settle, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    b.el(total, "ram:LineTotalAmount", _amount(inv.line_total))
    b.el(total, "ram:ChargeTotalAmount", "0.00")
    b.el(total, "ram:AllowanceTotalAmount", _amount(inv.allowance_total))
    b.el(total, "ram:TaxBasisTotalAmount", _amount(inv.tax_basis))
    b.el(total, "ram:TaxTotalAmount", _amount(inv.tax), currencyID=inv.currency)
    b.el(total, "ram:GrandTotalAmount", _amount(inv.grand_total))
    b.el(total, "ram:TotalPrepaidAmount", _amount(inv.prepaid))
    b.el(total, "ram:DuePayableAmount", _amount(inv.due))
    if inv.preceding_invoice:
        b.el(b.el(settle, "ram:InvoiceReferencedDocument"), "ram:IssuerAssignedID", inv.preceding_invoice)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _cii_date(b: _Builder, parent, day: date) -> None:
    b.el(parent, "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _cii_category(b: _Builder, parent, inv: EInvoice, *, with_type: bool) -> None:
    if with_type:
        b.el(parent, "ram:TypeCode", "VAT")
    b.el(parent, "ram:CategoryCode", inv.vat_category)
    if inv.vat_category != OUTSIDE_SCOPE:
        b.el(parent, "ram:RateApplicablePercent", _rate(inv.vat_rate))


def _cii_party(b: _Builder, parent, party: TradeParty, category: str) -> None:
    b.el(parent, "ram:Name", party.name)
    b.el(parent, "ram:Description", f"Wallet {party.wallet}")
    if party.registration_id:
        b.el(b.el(parent, "ram:SpecifiedLegalOrganization"), "ram:ID", party.registration_id)
    address = b.el(parent, "ram:PostalTradeAddress")
    b.el(address, "ram:PostcodeCode", party.postcode)
    b.el(address, "ram:LineOne", party.street)
    b.el(address, "ram:CityName", party.city)
    b.el(address, "ram:CountryID", party.country)
    if party.email:
        b.el(b.el(parent, "ram:URIUniversalCommunication"), "ram:URIID", party.email, schemeID="EM")
    if party.vat_id and category != OUTSIDE_SCOPE:
        b.el(b.el(parent, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID="VA")


def _terms_text(inv: EInvoice) -> str:
    if inv.due <= 0:
        return f"Paid in full on-chain at issue ({inv.payment_reference})."
    due = f" by {inv.due_date.isoformat()}" if inv.due_date else ""
    return f"{_amount(inv.prepaid)} {inv.currency} paid on-chain at issue; {_amount(inv.due)} {inv.currency} due{due}."


UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
UBL_ROOT = {
    INVOICE: ("Invoice", "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"),
    CREDIT_NOTE: ("CreditNote", "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"),
}
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def to_ubl(inv: EInvoice) -> bytes:
    """UBL 2.1 Invoice or CreditNote following Peppol BIS Billing 3.0."""
    root_name, root_ns = UBL_ROOT[inv.type_code]
    nsmap = {None: root_ns, **UBL_NS}
    b = _Builder(UBL_NS)
    root = etree.Element(f"{{{root_ns}}}{root_name}", nsmap=nsmap)
    b.el(root, "cbc:CustomizationID", PEPPOL_CUSTOMIZATION)
    b.el(root, "cbc:ProfileID", PEPPOL_PROFILE)
    b.el(root, "cbc:ID", inv.number)
    b.el(root, "cbc:IssueDate", inv.issue_date.isoformat())
    if inv.type_code == INVOICE and inv.due_date and inv.due > 0:
        b.el(root, "cbc:DueDate", inv.due_date.isoformat())
    b.el(root, "cbc:InvoiceTypeCode" if inv.type_code == INVOICE else "cbc:CreditNoteTypeCode", inv.type_code)
    for note in (*inv.notes, inv.payment_note):
        b.el(root, "cbc:Note", note)
    b.el(root, "cbc:DocumentCurrencyCode", inv.currency)
    b.el(root, "cbc:BuyerReference", inv.buyer_reference)
    period = b.el(root, "cac:InvoicePeriod")
    b.el(period, "cbc:StartDate", inv.period_start.isoformat())
    b.el(period, "cbc:EndDate", inv.period_end.isoformat())
    if inv.preceding_invoice:
        reference = b.el(b.el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        b.el(reference, "cbc:ID", inv.preceding_invoice)
    b.el(b.el(root, "cac:ContractDocumentReference"), "cbc:ID", inv.contract_reference)
    _ubl_party(b, b.el(root, "cac:AccountingSupplierParty"), inv.seller, inv.vat_category)
    _ubl_party(b, b.el(root, "cac:AccountingCustomerParty"), inv.buyer, inv.vat_category)
    b.el(b.el(root, "cac:Delivery"), "cbc:ActualDeliveryDate", inv.period_end.isoformat())
    means = b.el(root, "cac:PaymentMeans")
    b.el(means, "cbc:PaymentMeansCode", "58" if inv.seller.iban else "ZZZ")
    b.el(means, "cbc:PaymentID", inv.payment_reference)
    if inv.seller.iban:
        b.el(b.el(means, "cac:PayeeFinancialAccount"), "cbc:ID", inv.seller.iban)
    b.el(b.el(root, "cac:PaymentTerms"), "cbc:Note", _terms_text(inv))
    for code, reason, amount in inv.allowances:
        allowance = b.el(root, "cac:AllowanceCharge")
        b.el(allowance, "cbc:ChargeIndicator", "false")
        b.el(allowance, "cbc:AllowanceChargeReasonCode", code)
        b.el(allowance, "cbc:AllowanceChargeReason", reason)
        b.el(allowance, "cbc:Amount", _amount(amount), currencyID=inv.currency)
        _ubl_category(b, b.el(allowance, "cac:TaxCategory"), inv, with_exemption=False)
    tax_total = b.el(root, "cac:TaxTotal")
    b.el(tax_total, "cbc:TaxAmount", _amount(inv.tax), currencyID=inv.currency)
    subtotal = b.el(tax_total, "cac:TaxSubtotal")
    b.el(subtotal, "cbc:TaxableAmount", _amount(inv.tax_basis), currencyID=inv.currency)
    b.el(subtotal, "cbc:TaxAmount", _amount(inv.tax), currencyID=inv.currency)
    _ubl_category(b, b.el(subtotal, "cac:TaxCategory"), inv, with_exemption=True)
    totals = b.el(root, "cac:LegalMonetaryTotal")
    b.el(totals, "cbc:LineExtensionAmount", _amount(inv.line_total), currencyID=inv.currency)
    b.el(totals, "cbc:TaxExclusiveAmount", _amount(inv.tax_basis), currencyID=inv.currency)
    b.el(totals, "cbc:TaxInclusiveAmount", _amount(inv.grand_total), currencyID=inv.currency)
    b.el(totals, "cbc:AllowanceTotalAmount", _amount(inv.allowance_total), currencyID=inv.currency)
    b.el(totals, "cbc:PrepaidAmount", _amount(inv.prepaid), currencyID=inv.currency)
    b.el(totals, "cbc:PayableAmount", _amount(inv.due), currencyID=inv.currency)
    line_tag, quantity_tag = (
        ("InvoiceLine", "InvoicedQuantity")
        if inv.type_code == INVOICE
        else (
            "CreditNoteLine",
            "CreditedQuantity",
        )
    )
    for number, line in enumerate(inv.lines, 1):
        node = b.el(root, f"cac:{line_tag}")
        b.el(node, "cbc:ID", str(number))
        b.el(node, "cbc:Note", line.note)
        b.el(node, f"cbc:{quantity_tag}", "1", unitCode="C62")
        b.el(node, "cbc:LineExtensionAmount", _amount(line.amount), currencyID=inv.currency)
        item = b.el(node, "cac:Item")
        b.el(item, "cbc:Name", line.name)
        _ubl_category(b, b.el(item, "cac:ClassifiedTaxCategory"), inv, with_exemption=False)
        b.el(b.el(node, "cac:Price"), "cbc:PriceAmount", _amount(line.amount), currencyID=inv.currency)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _ubl_category(b: _Builder, parent, inv: EInvoice, *, with_exemption: bool) -> None:
    b.el(parent, "cbc:ID", inv.vat_category)
    if inv.vat_category != OUTSIDE_SCOPE:
        b.el(parent, "cbc:Percent", _rate(inv.vat_rate))
    if with_exemption and inv.vat_category in EXEMPTION:
        code, reason = EXEMPTION[inv.vat_category]
        b.el(parent, "cbc:TaxExemptionReasonCode", code)
        b.el(parent, "cbc:TaxExemptionReason", reason)
    b.el(b.el(parent, "cac:TaxScheme"), "cbc:ID", "VAT")


def _ubl_party(b: _Builder, parent, party: TradeParty, category: str) -> None:
    node = b.el(parent, "cac:Party")
    if party.email:
        b.el(node, "cbc:EndpointID", party.email, schemeID="EM")
    b.el(b.el(node, "cac:PartyName"), "cbc:Name", party.name)
    address = b.el(node, "cac:PostalAddress")
    b.el(address, "cbc:StreetName", party.street)
    b.el(address, "cbc:CityName", party.city)
    b.el(address, "cbc:PostalZone", party.postcode)
    b.el(b.el(address, "cac:Country"), "cbc:IdentificationCode", party.country)
    if party.vat_id and category != OUTSIDE_SCOPE:
        scheme = b.el(node, "cac:PartyTaxScheme")
        b.el(scheme, "cbc:CompanyID", party.vat_id)
        b.el(b.el(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = b.el(node, "cac:PartyLegalEntity")
    b.el(legal, "cbc:RegistrationName", party.name)
    if party.registration_id:
        b.el(legal, "cbc:CompanyID", party.registration_id)
    if party.email:
        b.el(b.el(node, "cac:Contact"), "cbc:ElectronicMail", party.email)
