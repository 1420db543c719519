"""Sign-in with Ethereum for wallets; API keys for services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from backend.api.deps import BearerTokenDep, ChainDep, PrincipalDep, SessionDep, SettingsDep, WriterDep
from backend.api.schemas import ApiKeyIn, ApiKeyName, ApiKeyOut, ApiKeyRecordOut, NonceOut, SessionOut, SignInIn
from backend.services import auth
from backend.services.access import require_role

router = APIRouter(prefix="/v1", tags=["auth"])


@router.post("/auth/nonce", status_code=201)
def nonce(session: SessionDep, settings: SettingsDep, chain: ChainDep) -> NonceOut:
    """A single-use nonce for the SIWE message, valid for a few minutes (rate-limited per client
    address with sign-in, `backend.api.ratelimit.SignInLimit`)."""
    issued = auth.issue_nonce(session, settings)
    return NonceOut(
        nonce=issued.nonce,
        expires_at=issued.expires_at,
        domain=settings.siwe_domain,
        uri=settings.siwe_uri,
        chain_id=chain.chain_id,
    )


@router.post("/auth/sign-in")
def sign_in(body: SignInIn, session: SessionDep, settings: SettingsDep, chain: ChainDep) -> SessionOut:
    """Exchanges a signed EIP-4361 message for a session token (send it as `Authorization: Bearer`)."""
    token, record = auth.sign_in(session, settings, chain, body.message, body.signature)
    return SessionOut(token=token, address=record.address, expires_at=record.expires_at)


@router.post("/auth/sign-out", status_code=204)
def sign_out(token: BearerTokenDep, session: SessionDep, principal: PrincipalDep) -> Response:
    """Ends the caller's session: its token is refused from now on, on every replica."""
    require_role(principal, "wallet")
    auth.sign_out(session, token)
    return Response(status_code=204)


@router.get("/auth/me")
def me(principal: PrincipalDep) -> dict:
    """Who the credentials belong to."""
    return {"role": principal.role, "address": principal.address, "name": principal.name}


@router.post("/api-keys", status_code=201)
def create_api_key(body: ApiKeyIn, session: SessionDep, principal: PrincipalDep) -> ApiKeyOut:
    """Operators issue keys to services (oracle nodes, workers, auditors)."""
    require_role(principal, "operator")
    return ApiKeyOut(name=body.name, role=body.role, key=auth.create_api_key(session, body.name, body.role))


@router.get("/api-keys")
def list_api_keys(session: SessionDep, principal: PrincipalDep) -> list[ApiKeyRecordOut]:
    """Every key issued (never the key itself), revoked ones included; operators only."""
    require_role(principal, "operator")
    return [ApiKeyRecordOut.model_validate(k, from_attributes=True) for k in auth.api_keys(session)]


@router.delete("/api-keys/{name}", status_code=204)
def revoke_api_key(name: Annotated[ApiKeyName, Path()], session: SessionDep, principal: WriterDep) -> Response:
    """Revokes a key at once, on every replica; operators only."""
    require_role(principal, "operator")
    auth.revoke_api_key(session, name)
    return Response(status_code=204)
