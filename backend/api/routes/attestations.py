"""Attestation intake from oracle nodes, keyed by the EIP-712 digest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from backend.api.deps import ChainDep, PrincipalDep, SessionDep, WriterDep
from backend.api.schemas import AttestationIn, AttestationOut, Hex32
from backend.db.models import Agreement, AttestationRecord
from backend.errors import NotFound
from backend.services import attestations
from backend.services.access import require_read, require_role

router = APIRouter(prefix="/v1/attestations", tags=["attestations"])


class AnchoringIn(BaseModel):
    root: Hex32
    proof: list[Hex32] = Field(max_length=64)


@router.post("")
def intake(request: Request, body: AttestationIn, session: SessionDep, principal: WriterDep) -> AttestationOut:
    """An oracle node's signed attestation (repeats are harmless: the digest is the key)."""
    require_role(principal, "oracle")
    return AttestationOut(**attestations.intake(session, principal, body, request.app.state.agreement_facts))


def _record(session, digest: str) -> tuple[AttestationRecord, Agreement]:
    record = session.get(AttestationRecord, digest)
    if record is None:
        raise NotFound(f"no attestation {digest}")
    return record, session.get(Agreement, record.agreement_pk)


@router.get("/{digest}")
def read(digest: Hex32, session: SessionDep, principal: PrincipalDep) -> AttestationOut:
    """A stored attestation with its signers."""
    record, agreement = _record(session, digest)
    require_read(agreement, principal)
    return AttestationOut(**attestations.describe(record, agreement))


@router.post("/{digest}/anchoring")
def anchoring(
    digest: Hex32, body: AnchoringIn, session: SessionDep, chain: ChainDep, principal: WriterDep
) -> AttestationOut:
    """Where the attestation was anchored; kept once the registry confirms the Merkle proof."""
    require_role(principal, "oracle", "worker", "operator")
    record = attestations.record_anchoring(session, chain, digest, body.root, body.proof)
    return AttestationOut(**attestations.describe(record, session.get(Agreement, record.agreement_pk)))
