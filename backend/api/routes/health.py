from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from backend.api.deps import ChainDep, SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep, chain: ChainDep) -> dict:
    """The database answers; the chain and contract addresses this replica serves."""
    session.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "chainId": chain.chain_id,
        "escrow": chain.escrow.address,
        "registry": chain.registry.address,
    }
