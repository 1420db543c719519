"""Agreements: drafts, proposal, consent, payout previews and what was recorded about them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from attestpay import payout, typed_data
from backend.api.deps import ChainDep, PrincipalDep, SessionDep, SettingsDep, WriterDep
from backend.api.params import MilestoneIndex, RowId
from backend.api.schemas import (
    AgreementIn,
    AgreementOut,
    AttestationOut,
    ConsentIn,
    Int256,
    PayoutOut,
    TypedDataOut,
    Uint64,
)
from backend.domain.terms import milestone_terms
from backend.errors import InvalidInput
from backend.services import agreements, attestations, documents, reports
from backend.services.access import require_read

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])


def _json(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code, media_type="application/json")


def _out(session, agreement, status_code: int = 200) -> Response:
    """The agreement as the request's commit stored it (`backend.services.documents`)."""
    return _json(documents.committed(session, agreement), status_code)


@router.post("", status_code=201, response_model=AgreementOut)
def create(body: AgreementIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> Response:
    """A draft by its client or provider; metric ids and the documents' hash are computed here."""
    return _out(session, agreements.create(session, chain, principal, body), 201)


@router.get("", response_model=list[AgreementOut])
def list_agreements(session: SessionDep, principal: PrincipalDep) -> Response:
    """The caller's agreements (a wallet's as client, provider or arbiter; every one for auditors)."""
    return _json(documents.listing(session, principal))


@router.get("/{pk}", response_model=AgreementOut)
def read(pk: RowId, session: SessionDep, principal: PrincipalDep) -> Response:
    """The agreement with its milestones (terms and state) and consents."""
    return _json(documents.read(session, principal, pk))


@router.put("/{pk}", response_model=AgreementOut)
def replace(pk: RowId, body: AgreementIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> Response:
    """Rewrites a draft's terms."""
    return _out(session, agreements.replace_terms(session, chain, principal, agreements.get(session, pk), body))


@router.post("/{pk}/propose", response_model=AgreementOut)
def propose(pk: RowId, session: SessionDep, chain: ChainDep, principal: WriterDep) -> Response:
    """Freezes the terms; the agreement id (their EIP-712 hash) is fixed from now on."""
    return _out(session, agreements.propose(session, chain, principal, agreements.get(session, pk)))


@router.get("/{pk}/typed-data")
def terms_typed_data(pk: RowId, session: SessionDep, principal: PrincipalDep) -> TypedDataOut:
    """The EIP-712 message each party signs to consent (eth_signTypedData_v4)."""
    agreement = agreements.get(session, pk)
    require_read(agreement, principal)
    data = agreements.terms_typed_data(agreement)  # a draft has no terms to sign yet: 409
    return TypedDataOut(primary_type="Agreement", digest=_digest(agreement), typed_data=data)


def _digest(agreement) -> str:
    struct = bytes.fromhex(agreement.agreement_id[2:])
    return "0x" + typed_data.digest(struct, agreement.chain_id, agreement.escrow).hex()


@router.post("/{pk}/consents", status_code=201, response_model=AgreementOut)
def consent(pk: RowId, body: ConsentIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> Response:
    """The caller's signature over the proposed terms (the party-signature rule: a key, a Safe's
    ERC-1271 answer, an EIP-7702-delegated account's either); both parties' make it consented."""
    agreement = agreements.get(session, pk)
    return _out(session, agreements.consent(session, chain, principal, agreement, body.signature), 201)


@router.post("/{pk}/cancel", response_model=AgreementOut)
def cancel(pk: RowId, session: SessionDep, principal: WriterDep) -> Response:
    """Drops an agreement that is not on the chain yet (on the chain: transactions/cancel)."""
    return _out(session, agreements.cancel(session, principal, agreements.get(session, pk)))


@router.get("/{pk}/milestones/{index}/preview")
def preview(
    pk: RowId,
    index: MilestoneIndex,
    value: Annotated[Int256, Query(description="the metric value, scaled as the spec's decimals")],
    observed_at: Annotated[Uint64, Query(description="unix seconds")],
    session: SessionDep,
    principal: PrincipalDep,
) -> PayoutOut:
    """What the escrow would pay for `value` observed at `observed_at` (escrow-semantics.md)."""
    agreement = agreements.get(session, pk)
    require_read(agreement, principal)
    if index >= len(agreement.milestones):
        raise InvalidInput(
            f"agreement {pk} has {len(agreement.milestones)} milestones; there is no {index}", field="index"
        )
    m = milestone_terms(agreement.milestones[index])
    figures = payout.compute(m, value, observed_at)
    return PayoutOut(days_late=payout.days_late(m.deadline, observed_at), **vars(figures))


@router.get("/{pk}/attestations")
def list_attestations(pk: RowId, session: SessionDep, principal: PrincipalDep) -> list[AttestationOut]:
    """Every verified attestation for the agreement, in the order received."""
    agreement = agreements.get(session, pk)
    require_read(agreement, principal)
    return [
        AttestationOut(**attestations.describe(r, agreement)) for r in attestations.for_agreement(session, agreement)
    ]


@router.get("/{pk}/invoices")
def list_invoices(pk: RowId, session: SessionDep, principal: PrincipalDep) -> list[str]:
    """The numbers of the agreement's invoices, oldest first."""
    agreement = agreements.get(session, pk)
    require_read(agreement, principal)
    return reports.invoices_of(session, agreement)


@router.get(
    "/{pk}/audit-pack",
    responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}},
)
def audit_pack(
    pk: RowId, session: SessionDep, chain: ChainDep, settings: SettingsDep, principal: PrincipalDep
) -> Response:
    """The agreement's audit pack for an external auditor (docs/finance.md): one zip with the PDF/A
    report, pack.json, the evidence, the Merkle proofs and a manifest; `attestpay verify --pack` re-checks it."""
    agreement = agreements.get(session, pk)
    require_read(agreement, principal)
    name, body = reports.audit_pack(chain, settings.evidence_dir, agreement)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type="application/zip", headers=disposition)


@router.get("/{pk}/audit-report")
def audit_report(pk: RowId, session: SessionDep, chain: ChainDep, principal: PrincipalDep) -> dict:
    """Terms, consents, fundings, attestations with signers, evidence and anchoring, settlements
    and every transaction, in order."""
    agreement = agreements.get(session, pk)
    require_read(agreement, principal)
    return reports.audit_report(session, chain, agreement)
