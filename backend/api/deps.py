"""Typed dependencies: the database session, the chain, the settings and the caller.

They are `async def` on purpose: FastAPI runs a sync dependency in the threadpool, and each hop
costs more than the work of these (attribute reads). Only what touches the database goes to a
thread: the endpoint itself, the caller's credential (looked up on every request, so that a
revocation holds at once on every replica), a rollback on close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.chain import ChainGateway
from backend.errors import Unauthenticated
from backend.services import auth
from backend.services.auth import Principal
from backend.settings import Settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; whatever a service did not commit is rolled back on close. GET
    requests never write, so theirs runs each statement on its own (autocommit, no BEGIN)."""
    reading = request.method == "GET"
    session = (request.app.state.read_sessions if reading else request.app.state.sessions)()
    try:
        yield session
    finally:
        # Closing rolls back what is open: I/O, so in the threadpool. Nothing is open after a GET
        # (autocommit) or a write that committed, and then closing does no I/O.
        if reading or not session.in_transaction():
            session.close()
        else:
            try:
                await run_in_threadpool(session.close)
            except DBAPIError as exc:  # the connection died (a database restart) and its transaction with it
                if not exc.connection_invalidated:
                    raise


async def get_chain(request: Request) -> ChainGateway:
    return request.app.state.chain


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
ChainDep = Annotated[ChainGateway, Depends(get_chain)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# Security schemes, as the OpenAPI document shows them. They read their header straight from the
# request: a Header parameter would cost a pydantic validation on every request.
BEARER = HTTPBearer(auto_error=False, scheme_name="session", description="the session token from sign-in (SIWE)")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="a service's API key")


async def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    api_key: Annotated[str | None, Depends(API_KEY)],
) -> Principal:
    if bearer is not None:
        token = bearer.credentials.strip()
        return await run_in_threadpool(auth.wallet, session, token)
    if request.headers.get("authorization"):
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    if api_key:
        operator = auth.operator_from_settings(request.app.state.settings, api_key)
        return operator or await run_in_threadpool(auth.service, session, api_key)
    raise Unauthenticated("sign in with Ethereum (Authorization: Bearer) or send an X-API-Key")


async def get_bearer_token(bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> str:
    if bearer is None:
        raise Unauthenticated("send the session token to end as Authorization: Bearer")
    return bearer.credentials.strip()


async def get_writer(
    request: Request, principal: Annotated[Principal, Depends(get_principal)], settings: SettingsDep
) -> Principal:
    """The caller of a write, counted against its rate limit."""
    request.app.state.limiter.hit("write", principal.label, settings.writes_per_minute)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
BearerTokenDep = Annotated[str, Depends(get_bearer_token)]
WriterDep = Annotated[Principal, Depends(get_writer)]
