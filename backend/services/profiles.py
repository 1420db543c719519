"""Party profiles (attestpay.profiles): a wallet signs each new version; its counterparties, auditors
and operators read them (they carry an IBAN and an e-mail: not public); an invoice uses the version
in force when it was issued."""

from __future__ import annotations

import time

from eth_utils import to_checksum_address
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from attestpay import profiles
from attestpay.profiles import PartyProfile
from backend.db.models import Agreement, PartyProfileVersion
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.services.access import READ_ALL
from backend.services.auth import Principal

SIGNED_AT_SLACK = 600  # seconds a signature's signedAt may lie from the server's clock


def prepare(
    principal: Principal, chain_id: int, scope: str, version: int, signed_at: int, profile: PartyProfile
) -> dict:
    """The PartyProfile message to sign, with the fields normalised as they will be stored."""
    _require_wallet(principal)
    return profiles.typed_data(_checked(profile), principal.address, scope, version, signed_at, chain_id)


def _require_wallet(principal: Principal) -> None:
    if principal.role != "wallet":
        raise Forbidden("only a wallet signs its own profile: sign in with Ethereum")


def _checked(profile: PartyProfile) -> PartyProfile:
    try:
        return profile.check()
    except profiles.InvalidProfile as exc:
        raise InvalidInput(str(exc)) from exc


def save(
    session: Session,
    principal: Principal,
    chain_id: int,
    scope: str,
    version: int,
    signed_at: int,
    profile: PartyProfile,
    signature: bytes,
) -> PartyProfileVersion:
    """Stores the next version of the caller's profile if the caller's wallet signed exactly it."""
    _require_wallet(principal)
    profile = _checked(profile)
    if abs(signed_at - int(time.time())) > SIGNED_AT_SLACK:
        raise InvalidInput(f"signedAt {signed_at} is more than {SIGNED_AT_SLACK} s from now; sign again")
    message = profiles.typed_data(profile, principal.address, scope, version, signed_at, chain_id)
    try:
        signer = profiles.signer(message, signature)
    except Exception as exc:  # malformed bytes: eth-keys raises several types
        raise InvalidInput("the signature is not a 65-byte ECDSA signature") from exc
    if signer != principal.address:
        raise InvalidInput(f"the profile is signed by {signer}, not by {principal.address}; sign the exact fields")
    latest = _latest(session, principal.address, scope)
    if version != (latest.version + 1 if latest else 1):
        raise Conflict(f"version must be {latest.version + 1 if latest else 1}: someone saved a newer profile")
    record = PartyProfileVersion(
        wallet=principal.address,
        scope=scope,
        version=version,
        fields=profile.__dict__.copy(),
        signed_at=signed_at,
        signature="0x" + signature.hex(),
    )
    session.add(record)
    session.commit()
    return record


def history(session: Session, principal: Principal, wallet: str, scope: str) -> list[PartyProfileVersion]:
    wallet = to_checksum_address(wallet)
    _require_read(session, principal, wallet)
    rows = list(
        session.scalars(
            select(PartyProfileVersion)
            .where(PartyProfileVersion.wallet == wallet, PartyProfileVersion.scope == scope)
            .order_by(PartyProfileVersion.version)
        )
    )
    if not rows:
        raise NotFound(f"{wallet} has no profile" + ("" if scope == profiles.ZERO_SCOPE else f" for {scope}"))
    return rows


def in_force(session: Session, wallet: str, agreement_id: str | None, at: int) -> PartyProfileVersion | None:
    """The version an invoice issued at `at` names: the agreement's own profile, else the default one;
    the last version signed by then, or the first one where the wallet signed its profile only later."""
    for scope in ([agreement_id] if agreement_id else []) + [profiles.ZERO_SCOPE]:
        versions = PartyProfileVersion.wallet == wallet, PartyProfileVersion.scope == scope
        row = session.scalar(
            select(PartyProfileVersion)
            .where(*versions, PartyProfileVersion.signed_at <= at)
            .order_by(PartyProfileVersion.version.desc())
            .limit(1)
        ) or session.scalar(select(PartyProfileVersion).where(*versions).order_by(PartyProfileVersion.version).limit(1))
        if row is not None:
            return row
    return None


def _latest(session: Session, wallet: str, scope: str) -> PartyProfileVersion | None:
    return session.scalar(
        select(PartyProfileVersion)
        .where(PartyProfileVersion.wallet == wallet, PartyProfileVersion.scope == scope)
        .order_by(PartyProfileVersion.version.desc())
        .limit(1)
    )


def _require_read(session: Session, principal: Principal, wallet: str) -> None:
    if principal.role in READ_ALL or principal.address == wallet:
        return
    if principal.role == "wallet":
        me, them = principal.address, wallet
        parties = (Agreement.client, Agreement.provider, Agreement.arbiter)
        shared = exists().where(or_(*(p == me for p in parties)), or_(*(p == them for p in parties)))
        if session.scalar(select(shared)):
            return
    raise Forbidden(f"{principal.label} shares no agreement with {wallet}")
