"""Funding from one signature: the client's EIP-2612 permit, used in its own single transaction
or handed to the relayer, which registers and funds the agreement and pays the gas."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import ChainDep, PrincipalDep, SessionDep, WriterDep
from backend.api.params import RowId
from backend.api.schemas import IntentOut, PermitIn, PermitOut, WalletTransactions
from backend.services import agreements, permit_funding

router = APIRouter(prefix="/v1", tags=["funding"])


@router.get("/agreements/{pk}/funding-permit")
def funding_permit(pk: RowId, session: SessionDep, chain: ChainDep, principal: PrincipalDep) -> PermitOut:
    """The EIP-2612 permit the client signs for the funding total (ERC-20 tokens with permits)."""
    digest, deadline, data = permit_funding.permit_typed_data(session, chain, principal, agreements.get(session, pk))
    return PermitOut(digest=digest, deadline=deadline, typed_data=data)


@router.post("/agreements/{pk}/transactions/fund-with-permit")
def fund_with_permit(
    pk: RowId, body: PermitIn, session: SessionDep, chain: ChainDep, principal: WriterDep
) -> WalletTransactions:
    """One transaction for the client's wallet: the funding with its signed permit (no approval)."""
    agreement = agreements.get(session, pk)
    txs = permit_funding.fund_with_permit(session, chain, principal, agreement, body.deadline, body.signature)
    return WalletTransactions(transactions=txs)


@router.post("/agreements/{pk}/gasless-funding", status_code=202)
def gasless_funding(pk: RowId, body: PermitIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> IntentOut:
    """The relayer registers and funds the agreement with the client's permit and pays the gas."""
    agreement = agreements.get(session, pk)
    intent = permit_funding.fund_gasless(session, chain, principal, agreement, body.deadline, body.signature)
    return IntentOut.model_validate(intent, from_attributes=True)
