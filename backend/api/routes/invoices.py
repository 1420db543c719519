"""Invoices as JSON, printable HTML and PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from backend.api.deps import ChainDep, PrincipalDep, SessionDep
from backend.api.schemas import InvoiceOut
from backend.db.models import Agreement
from backend.domain.invoices import for_people, render_html, render_pdf
from backend.services import reports
from backend.services.access import require_read

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
Number = Annotated[str, Path(pattern=r"^AP-[0-9]{6,}$")]


def _document(session, principal, chain, number: str) -> dict:
    record, document = reports.invoice(session, number)
    require_read(session.get(Agreement, record.agreement_pk), principal)
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
