"""Typed dependencies: the database session, the chain, the settings and the caller.

They are `async def` on purpose: FastAPI runs a sync dependency in the threadpool, and each hop
costs more than the work of these (attribute reads, a cache lookup). Only what touches the
database goes to a thread: the endpoint itself, a cache miss on the caller, a rollback on close."""

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
    cache: auth.PrincipalCache = request.app.state.principals
    if bearer is not None:
        token = bearer.credentials.strip()
        credential, lookup = "session:" + token, lambda: auth.wallet(session, token)
    elif request.headers.get("authorization"):
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    elif api_key:
        settings = request.app.state.settings
        credential, lookup = (
            "key:" + api_key,
            lambda: auth.operator_from_settings(settings, api_key) or auth.service(session, api_key),
        )
    else:
        raise Unauthenticated("sign in with Ethereum (Authorization: Bearer) or send an X-API-Key")
    principal = cache.get(credential)
    if principal is None:
        principal, valid_until = await run_in_threadpool(lookup)
        cache.put(credential, principal, valid_until)
    return principal


async def get_writer(
    request: Request, principal: Annotated[Principal, Depends(get_principal)], settings: SettingsDep
) -> Principal:
    """The caller of a write, counted against its rate limit."""
    request.app.state.limiter.hit("write", principal.label, settings.writes_per_minute)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
WriterDep = Annotated[Principal, Depends(get_writer)]
