"""Portfolio analytics for the caller's agreements (every agreement for auditors and operators)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select

import auditor
from auditor.report import as_html
from backend.api.deps import ChainDep, PrincipalDep, SessionDep, SettingsDep
from backend.db.models import Agreement
from backend.domain import analytics
from backend.services import agreements, reports
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
