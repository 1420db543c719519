"""Party profiles: the legal identity on a wallet's invoices, each version signed by the wallet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from attestpay import profiles as core
from backend.api.deps import ChainDep, PrincipalDep, SessionDep, WriterDep
from backend.api.schemas import Address, Hex32, ProfileIn, ProfileOut, ProfilePrepareIn
from backend.db.models import PartyProfileVersion
from backend.services import profiles

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])
Scope = Annotated[Hex32, Query(description="zero: the default profile; else an agreement id")]


def _out(row: PartyProfileVersion) -> ProfileOut:
    return ProfileOut.model_validate(row, from_attributes=True)


@router.post("/typed-data")
def typed_data(body: ProfilePrepareIn, principal: PrincipalDep, chain: ChainDep) -> dict:
    """The PartyProfile message for the caller's wallet to sign (eth_signTypedData_v4)."""
    profile = core.PartyProfile(**body.fields.model_dump())
    return profiles.prepare(principal, chain.chain_id, body.scope, body.version, body.signed_at, profile)


@router.post("", status_code=201)
def save(body: ProfileIn, session: SessionDep, principal: WriterDep, chain: ChainDep) -> ProfileOut:
    """Stores the next version of the caller's profile, signed by the caller's wallet."""
    profile = core.PartyProfile(**body.fields.model_dump())
    signature = bytes.fromhex(body.signature[2:])
    row = profiles.save(
        session, principal, chain.chain_id, body.scope, body.version, body.signed_at, profile, signature
    )
    return _out(row)


@router.get("/{wallet}")
def history(
    wallet: Address, session: SessionDep, principal: PrincipalDep, scope: Scope = core.ZERO_SCOPE
) -> list[ProfileOut]:
    """Every version of a wallet's profile, oldest first: the wallet itself, its counterparties,
    auditors and operators may read it."""
    return [_out(row) for row in profiles.history(session, principal, wallet, scope)]
