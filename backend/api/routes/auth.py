"""Sign-in with Ethereum for wallets; API keys for services."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.api.deps import ChainDep, PrincipalDep, SessionDep, SettingsDep
from backend.api.schemas import ApiKeyIn, ApiKeyOut, NonceOut, SessionOut, SignInIn
from backend.services import auth
from backend.services.access import require_role

router = APIRouter(prefix="/v1", tags=["auth"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/auth/nonce", status_code=201)
def nonce(request: Request, session: SessionDep, settings: SettingsDep, chain: ChainDep) -> NonceOut:
    """A single-use nonce for the SIWE message, valid for a few minutes."""
    request.app.state.limiter.hit("sign-in", _client(request), settings.sign_ins_per_minute)
    issued = auth.issue_nonce(session, settings)
    return NonceOut(
        nonce=issued.nonce,
        expires_at=issued.expires_at,
        domain=settings.siwe_domain,
        uri=settings.siwe_uri,
        chain_id=chain.chain_id,
    )


@router.post("/auth/sign-in")
def sign_in(
    request: Request, body: SignInIn, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> SessionOut:
    """Exchanges a signed EIP-4361 message for a session token (send it as `Authorization: Bearer`)."""
    request.app.state.limiter.hit("sign-in", _client(request), settings.sign_ins_per_minute)
    token, record = auth.sign_in(session, settings, chain, body.message, body.signature)
    return SessionOut(token=token, address=record.address, expires_at=record.expires_at)


@router.get("/auth/me")
def me(principal: PrincipalDep) -> dict:
    """Who the credentials belong to."""
    return {"role": principal.role, "address": principal.address, "name": principal.name}


@router.post("/api-keys", status_code=201)
def create_api_key(body: ApiKeyIn, session: SessionDep, principal: PrincipalDep) -> ApiKeyOut:
    """Operators issue keys to services (oracle nodes, workers, auditors)."""
    require_role(principal, "operator")
    return ApiKeyOut(name=body.name, role=body.role, key=auth.create_api_key(session, body.name, body.role))
