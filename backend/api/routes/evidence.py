"""The published evidence (ATTESTPAY_EVIDENCE_DIR), each file under its keccak256; who may read
what: `backend.services.evidence`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from backend.api.deps import PrincipalDep, SessionDep, SettingsDep
from backend.api.schemas import Hex32
from backend.services import evidence as published

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])


@router.get(
    "/{digest}",
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
)
def evidence(digest: Hex32, session: SessionDep, settings: SettingsDep, principal: PrincipalDep) -> Response:
    """The bytes stored under `digest`, checked against it (bytes that no longer hash to it are
    refused with 409, never served). Readable by the parties and oracles of an agreement the
    evidence or metric spec belongs to, and by auditor and operator keys (docs/security.md)."""
    return Response(published.read(session, settings, principal, digest), media_type="application/octet-stream")
