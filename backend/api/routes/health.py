from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from backend.api.deps import ChainDep, SessionDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep, chain: ChainDep, settings: SettingsDep) -> dict:
    """The database answers; the chain and contract addresses this replica serves, and the block
    explorer its transactions link to (ATTESTPAY_EXPLORER_URL, none by default)."""
    session.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "chainId": chain.chain_id,
        "escrow": chain.escrow.address,
        "registry": chain.registry.address,
        "explorer": settings.explorer_url.rstrip("/") if settings.explorer_url else None,
    }
