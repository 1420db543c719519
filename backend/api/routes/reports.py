"""Portfolio analytics for the caller's agreements (every agreement for auditors and operators)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import ChainDep, PrincipalDep, SessionDep
from backend.services import agreements, reports
from backend.services.access import require_role

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/portfolio")
def portfolio(session: SessionDep, chain: ChainDep, principal: PrincipalDep) -> dict:
    """Completion and on-time rates, lateness, achievement against target, funds at risk and a
    best / expected / worst cash-flow projection (definitions in docs/backend.md)."""
    require_role(principal, "wallet", "auditor", "operator", "worker")
    return reports.portfolio(session, agreements.visible(session, principal), chain.now())
