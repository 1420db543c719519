"""Ready-to-sign wallet transactions, and mined ones reported back so the database follows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from attestpay.payout import BPS, MAX_MILESTONES
from backend.api.deps import ChainDep, PrincipalDep, SessionDep, WriterDep
from backend.api.params import RowId
from backend.api.schemas import (
    ChainEventOut,
    IndexIn,
    RecordTransactionIn,
    ResolveDisputeIn,
    SettleIn,
    TypedDataOut,
    WalletTransactions,
    WithdrawIn,
)
from backend.services import agreements, chain_sync, wallet_tx

router = APIRouter(prefix="/v1", tags=["transactions"])


def _out(txs: list[dict]) -> WalletTransactions:
    return WalletTransactions(transactions=txs)


@router.post("/agreements/{pk}/transactions/create")
def create(pk: RowId, session: SessionDep, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """Registers the consented agreement on the escrow with the other party's signature."""
    return _out(wallet_tx.create(session, chain, principal, agreements.get(session, pk)))


@router.post("/agreements/{pk}/transactions/fund")
def fund(pk: RowId, session: SessionDep, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """The client's funding: ETH in one transaction; an ERC-20 as approve, then fund."""
    return _out(wallet_tx.fund(session, chain, principal, agreements.get(session, pk)))


@router.post("/agreements/{pk}/transactions/approve")
def approve(pk: RowId, body: IndexIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """The client accepts an acceptance-type milestone."""
    return _out(wallet_tx.approve(session, chain, principal, agreements.get(session, pk), body.index))


@router.post("/agreements/{pk}/transactions/settle")
def settle(pk: RowId, body: SettleIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """Settles a milestone on an attestation that meets the target."""
    agreement = agreements.get(session, pk)
    return _out(wallet_tx.settle(session, chain, principal, agreement, body.index, body.attestation, partial=False))


@router.post("/agreements/{pk}/transactions/accept-partial")
def accept_partial(
    pk: RowId, body: SettleIn, session: SessionDep, chain: ChainDep, principal: WriterDep
) -> WalletTransactions:
    """The provider settles on a result below target, accepting the partial payment."""
    agreement = agreements.get(session, pk)
    return _out(wallet_tx.settle(session, chain, principal, agreement, body.index, body.attestation, partial=True))


@router.post("/agreements/{pk}/transactions/dispute")
def dispute(pk: RowId, body: IndexIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """Freezes an open milestone, or a settled milestone's holdback."""
    return _out(wallet_tx.dispute(session, chain, principal, agreements.get(session, pk), body.index))


@router.post("/agreements/{pk}/transactions/resolve-dispute")
def resolve_dispute(
    pk: RowId, body: ResolveDisputeIn, session: SessionDep, chain: ChainDep, principal: WriterDep
) -> WalletTransactions:
    """Splits a disputed milestone or holdback: the arbiter alone, or a party with the other's signed split."""
    agreement = agreements.get(session, pk)
    return _out(
        wallet_tx.resolve_dispute(
            session,
            chain,
            principal,
            agreement,
            body.index,
            body.holdback,
            body.provider_share_bps,
            body.counterparty_signature,
        )
    )


@router.get("/agreements/{pk}/dispute-split")
def dispute_split(
    pk: RowId,
    index: Annotated[int, Query(ge=0, lt=MAX_MILESTONES)],
    provider_share_bps: Annotated[int, Query(ge=0, le=BPS)],
    session: SessionDep,
    principal: PrincipalDep,
    holdback: bool = False,
) -> TypedDataOut:
    """The EIP-712 DisputeSplit a party signs to agree to a split the other party then submits."""
    digest, data = wallet_tx.split_typed_data(
        principal, agreements.get(session, pk), index, holdback, provider_share_bps
    )
    return TypedDataOut(primary_type="DisputeSplit", digest=digest, typed_data=data)


@router.post("/agreements/{pk}/transactions/reclaim")
def reclaim(pk: RowId, body: IndexIn, session: SessionDep, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """The client takes back a milestone left unsettled past deadline + cure window."""
    return _out(wallet_tx.reclaim(session, chain, principal, agreements.get(session, pk), body.index))


@router.post("/agreements/{pk}/transactions/release-holdback")
def release_holdback(
    pk: RowId, body: IndexIn, session: SessionDep, chain: ChainDep, principal: WriterDep
) -> WalletTransactions:
    """Pays a settled milestone's holdback to the provider once its warranty period is over."""
    return _out(wallet_tx.release_holdback(session, chain, principal, agreements.get(session, pk), body.index))


@router.post("/agreements/{pk}/transactions/cancel")
def cancel(pk: RowId, session: SessionDep, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """Cancels an agreement on the escrow before it is funded."""
    return _out(wallet_tx.cancel(session, chain, principal, agreements.get(session, pk)))


@router.post("/transactions/withdraw")
def withdraw(body: WithdrawIn, chain: ChainDep, principal: WriterDep) -> WalletTransactions:
    """Withdraws what the escrow credited to the caller (a payment that could not be pushed)."""
    return _out(wallet_tx.withdraw(chain, principal, body.token, body.to))


@router.post("/transactions", status_code=201)
def record(
    body: RecordTransactionIn, session: SessionDep, chain: ChainDep, principal: WriterDep
) -> list[ChainEventOut]:
    """Reports a mined escrow transaction; its events update the agreements (once, however often reported)."""
    return [
        ChainEventOut.model_validate(e, from_attributes=True)
        for e in chain_sync.record_transaction(session, chain, body.tx_hash)
    ]
