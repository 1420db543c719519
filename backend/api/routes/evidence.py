"""The published evidence (ATTESTPAY_EVIDENCE_DIR): the raw bytes an attested value was computed
from, the metric specs and the anchoring batch files, each under its keccak256."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from backend.api.deps import PrincipalDep, SettingsDep
from backend.api.schemas import Hex32
from backend.errors import Conflict, NotFound
from oracle.errors import EvidenceError
from oracle.evidence import EvidenceStore

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])


@router.get(
    "/{digest}",
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
)
def evidence(digest: Hex32, settings: SettingsDep, _principal: PrincipalDep) -> Response:
    """The bytes stored under `digest`, checked against it (bytes that no longer hash to it are
    refused with 409, never served); any signed-in caller."""
    if settings.evidence_dir is None:
        raise NotFound("this service publishes no evidence (ATTESTPAY_EVIDENCE_DIR is not set)")
    store, key = EvidenceStore(settings.evidence_dir), bytes.fromhex(digest[2:])
    if not store.has(key):
        raise NotFound(f"no evidence {digest} is published here")
    try:
        return Response(store.get(key), media_type="application/octet-stream")
    except EvidenceError as exc:
        raise Conflict(str(exc)) from None
