"""SimulatedDeal design: a design document checked, simulated for both parties and compared with other
structures before anyone signs (docs/design.md). Nothing is stored; the terms it returns are
proposed through POST /v1/agreements like any other."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from attestpay.design import analysis
from backend.api.deps import PrincipalDep, SessionDep
from backend.services import designs
from backend.services.access import require_role

router = APIRouter(prefix="/v1/designs", tags=["designs"])


class DesignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    design: dict[str, Any] = Field(description="the design document (docs/design.schema.json)")
    draws: int = Field(default=analysis.DRAWS, ge=100, le=100_000)
    seed: int = Field(default=analysis.SEED, ge=0, lt=2**63)
    history_csv: str | None = Field(
        default=None, max_length=1_000_000, description="past projects, CSV (docs/design.md)"
    )
    counterparty: bool = Field(default=False, description="leave the provider's costs and margin out of the figures")


def _evaluate(body: DesignRequest, session, principal) -> dict:
    require_role(principal, "wallet", "operator")
    return designs.evaluate(
        session, principal, body.design, body.draws, body.seed, body.history_csv, not body.counterparty
    )


@router.post("/evaluate")
def evaluate(body: DesignRequest, session: SessionDep, principal: PrincipalDep) -> dict:
    """Findings (the canvas's Do / Don't), the simulation per party, the comparison with other
    structures, and the terms to propose (no private field); history from the caller's settled
    milestones and the CSV given."""
    return _evaluate(body, session, principal)


@router.post("/report", responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}})
def report(body: DesignRequest, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """The canvas report as a printable page."""
    evaluated = _evaluate(body, session, principal)
    return HTMLResponse(designs.report_html(evaluated, body.design, not body.counterparty))
