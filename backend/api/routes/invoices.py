"""Invoices as JSON, printable HTML and PDF, and as EN 16931 e-invoices (CII, UBL, Factur-X)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from backend.api.deps import ChainDep, PrincipalDep, SessionDep
from backend.api.schemas import InvoiceOut
from backend.db.models import Agreement
from backend.domain import facturx_pdf
from backend.domain.en16931 import to_cii, to_ubl
from backend.domain.invoices import for_people, render_html, render_pdf
from backend.services import einvoices, reports
from backend.services.access import require_read

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
# <issuer prefix>-000001 in the issuer's series (AP-000001 before per-issuer series), -P: a payment
# against that invoice (a holdback paid out).
Number = Annotated[str, Path(pattern=r"^AP-(?:[0-9A-F]{8,40}-)?[0-9]{6,}(?:-P)?$")]


def _readable(session, principal, number: str) -> dict:
    record, document = reports.invoice(session, number)
    require_read(session.get(Agreement, record.agreement_pk), principal)
    return document


def _document(session, principal, chain, number: str) -> dict:
    document = _readable(session, principal, number)
    return for_people(document, chain.token(document["token"]))


@router.get("/{number}")
def read(number: Number, session: SessionDep, principal: PrincipalDep, chain: ChainDep) -> InvoiceOut:
    """The invoice of a settlement or holdback release: parties, line items, transaction."""
    return InvoiceOut(**_document(session, principal, chain, number))


# Documents are declared as extra 200 content, not as the route's response class: FastAPI would
# document the JSON error bodies under the route's media type.
@router.get("/{number}/html", responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}})
def html(number: Number, session: SessionDep, principal: PrincipalDep, chain: ChainDep) -> HTMLResponse:
    """The invoice as a printable HTML page."""
    return HTMLResponse(render_html(_document(session, principal, chain, number)))


@router.get(
    "/{number}/pdf",
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}},
)
def pdf(number: Number, session: SessionDep, principal: PrincipalDep, chain: ChainDep) -> Response:
    """The invoice as a PDF document."""
    document = _document(session, principal, chain, number)
    return Response(
        render_pdf(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )


def _einvoice(request: Request, session, principal, number: str):
    _readable(session, principal, number)  # the same access check as the invoice itself
    return einvoices.document(session, request.app.state.chain, request.app.state.prices, number)


XML = {200: {"content": {"application/xml": {"schema": {"type": "string"}}}}}


@router.get("/{number}/cii", responses=XML)
def cii(number: Number, request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """The EN 16931 e-invoice as UN/CEFACT CII (the Factur-X / ZUGFeRD EN16931 profile's XML)."""
    doc = _einvoice(request, session, principal, number)
    return _attachment(to_cii(doc), "application/xml", f"{doc.number}.cii.xml")


@router.get("/{number}/ubl", responses=XML)
def ubl(number: Number, request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """The EN 16931 e-invoice (or credit note) as UBL 2.1, Peppol BIS Billing 3.0."""
    doc = _einvoice(request, session, principal, number)
    return _attachment(to_ubl(doc), "application/xml", f"{doc.number}.ubl.xml")


@router.get(
    "/{number}/facturx",
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}},
)
def facturx(number: Number, request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """The Factur-X PDF/A-3: the readable invoice with its EN 16931 XML embedded."""
    doc = _einvoice(request, session, principal, number)
    return _attachment(facturx_pdf.render(doc), "application/pdf", f"{doc.number}.pdf")


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
