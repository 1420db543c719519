"""Portfolio analytics and accounting journals for the caller's agreements (every agreement for auditors
and operators), and the independent audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select

import auditor
from auditor.report import as_html
from backend.api.deps import ChainDep, PrincipalDep, SessionDep, SettingsDep
from backend.api.schemas import Address
from backend.db.models import Agreement
from backend.domain import analytics, journals as ledger
from backend.errors import Forbidden, InvalidInput
from backend.services import agreements, journals, reports
from backend.services.access import require_role

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/portfolio")
def portfolio(session: SessionDep, chain: ChainDep, principal: PrincipalDep) -> dict:
    """Completion and on-time rates, lateness, achievement against target, funds at risk and a
    best / expected / worst cash-flow projection (definitions in docs/backend.md)."""
    require_role(principal, "wallet", "auditor", "operator", "worker")
    report = reports.portfolio(session, agreements.visible(session, principal), chain.now())
    return analytics.for_people(report, chain.token)


@router.get("/audit")
def audit(chain: ChainDep, settings: SettingsDep, principal: PrincipalDep) -> dict:
    """The independent audit of every payout on this escrow, from chain data and the evidence
    store alone (not this database); auditors and operators."""
    require_role(principal, "auditor", "operator")
    with chain.lock:
        return auditor.audit(chain.w3, chain.escrow.address, chain.start_block, settings.evidence_dir)


@router.get("/audit/html", responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}})
def audit_html(session: SessionDep, chain: ChainDep, settings: SettingsDep, principal: PrincipalDep) -> HTMLResponse:
    """The audit as a printable page, with the agreements' titles and amounts in token units."""
    report = audit(chain, settings, principal)
    titles = dict(session.execute(select(Agreement.agreement_id, Agreement.title)).all())
    with chain.lock:
        return HTMLResponse(as_html(report, titles, chain.tokens))


Format = Literal["json", "xero", "quickbooks"]


@router.get(
    "/journal",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def journal(
    request: Request,
    session: SessionDep,
    chain: ChainDep,
    principal: PrincipalDep,
    start: Annotated[date, Query(alias="from", description="first day of the period (UTC)")],
    end: Annotated[date, Query(alias="to", description="the day after the period (UTC)")],
    wallet: Annotated[Address | None, Query(description="auditors and operators: whose journal")] = None,
    format: Format = "json",
) -> Response:
    """A wallet's double-entry journal for a period (docs/finance.md), as JSON with the period close
    that ties it to the chain, or as the CSV that Xero or QuickBooks Online imports."""
    require_role(principal, "wallet", "auditor", "operator")
    whose = principal.address if principal.role == "wallet" else wallet
    if whose is None or (principal.role == "wallet" and wallet not in (None, principal.address)):
        raise Forbidden("a wallet reads its own journal; auditors and operators name ?wallet=")
    start_ts, end_ts = (int(datetime.combine(d, time(), UTC).timestamp()) for d in (start, end))
    if end_ts <= start_ts:
        raise InvalidInput("'to' must be after 'from'")
    owned = [a for a in agreements.visible(session, principal) if whose in (a.client, a.provider)]
    entries = journals.journal(session, chain, request.app.state.prices, whose, owned, start_ts, end_ts)
    if format == "xero":
        return _csv(ledger.xero_csv(entries), f"journal-xero-{start}-{end}.csv")
    if format == "quickbooks":
        return _csv(ledger.quickbooks_csv(entries), f"journal-quickbooks-{start}-{end}.csv")
    with chain.lock:
        head = chain.w3.eth.block_number
    close = journals.close(chain, chain.escrow.address, whose, entries, chain.start_block, head)
    body = {
        "wallet": whose,
        "from": str(start),
        "to": str(end),
        "entries": [ledger.as_json(e) for e in entries],
        "close": close,
    }
    return JSONResponse(body)


def _csv(text: str, filename: str) -> Response:
    return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
