"""Typed dependencies: the database session, the chain, the settings and the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from backend.chain import ChainGateway
from backend.errors import Unauthenticated
from backend.services import auth
from backend.services.auth import Principal
from backend.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; whatever a service did not commit is rolled back on close."""
    with request.app.state.sessions() as session:
        yield session


def get_chain(request: Request) -> ChainGateway:
    return request.app.state.chain


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
ChainDep = Annotated[ChainGateway, Depends(get_chain)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(description="Bearer <session token from sign-in>")] = None,
    x_api_key: Annotated[str | None, Header(description="a service's API key")] = None,
) -> Principal:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        return auth.wallet(session, token.strip())
    if x_api_key:
        return auth.operator_from_settings(settings, x_api_key) or auth.service(session, x_api_key)
    raise Unauthenticated("sign in with Ethereum (Authorization: Bearer) or send an X-API-Key")


def get_writer(request: Request, principal: Annotated[Principal, Depends(get_principal)], settings: SettingsDep) -> Principal:
    """The caller of a write, counted against its rate limit."""
    request.app.state.limiter.hit("write", principal.label, settings.writes_per_minute)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
WriterDep = Annotated[Principal, Depends(get_writer)]
