"""The FastAPI application: routers, the one error handler, and start-up (migrations, chain)."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import DBAPIError

from attestpay.observability import RequestLog, metrics_body
from backend.api.ratelimit import RateLimiter
from backend.api.routes import (
    agreements,
    attestations,
    auth,
    automation,
    evidence,
    health,
    invoices,
    reports,
    transactions,
)
from backend.api.schemas import ERROR_RESPONSES
from backend.chain import NODE_FAULTS, ChainGateway, connect
from backend.db.migrate import upgrade
from backend.db.session import make_engine, make_sessionmaker
from backend.engine.worker import Worker
from backend.errors import BackendError, ChainUnavailable
from backend.memory import BoundedMap
from backend.services.auth import PrincipalCache
from backend.services.metrics import DatabaseCollector
from backend.settings import Settings, get_settings


def create_app(settings: Settings | None = None, chain: ChainGateway | None = None) -> FastAPI:
    """The service on `settings` (default: the environment's) and `chain` (default: the one the
    settings name; without an RPC URL, a fresh embedded chain)."""
    settings = settings or get_settings()
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    app = FastAPI(
        title="AttestPay backend",
        version="1",
        lifespan=_lifespan,
        description="Milestone agreements, consent, wallet transactions, attestations, invoices and reports.",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, settings.database_pool_size)
    app.state.sessions = make_sessionmaker(app.state.engine)
    app.state.read_sessions = make_sessionmaker(app.state.engine.execution_options(isolation_level="AUTOCOMMIT"))
    app.state.chain = chain or connect(settings)
    app.state.limiter = RateLimiter()
    app.state.principals = PrincipalCache()
    app.state.agreement_facts = BoundedMap(10_000)  # what intake checks, per agreement id

    @app.exception_handler(BackendError)
    def _domain_error(_request: Request, exc: BackendError) -> JSONResponse:
        headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
        body = {"detail": str(exc), "error": type(exc).__name__} | exc.details
        return JSONResponse(body, status_code=exc.status, headers=headers)

    def _node_fault(request: Request, exc: Exception) -> JSONResponse:
        """A chain call outside the gateway's own handling (a block's time, an allowance) failed at the node."""
        return _domain_error(
            request, ChainUnavailable(f"the chain's node did not answer usefully ({type(exc).__name__}); retry")
        )

    for fault in NODE_FAULTS:
        app.add_exception_handler(fault, _node_fault)

    @app.exception_handler(DBAPIError)
    def _database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated:
            raise exc
        body = {
            "detail": "the connection to the database was lost; retry",
            "error": "DatabaseUnavailable",
            "retry_after": 1,
        }
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    for module in (health, auth, agreements, transactions, attestations, automation, invoices, reports, evidence):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    _observe(app)
    _serve_dashboard(app, settings.web_dir)
    return app


def _observe(app: FastAPI) -> None:
    """A JSON log line per request (`attestpay.observability`) and Prometheus metrics at /metrics:
    requests, and the database's relayer intents, release requests and node answers by state."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(app.state.read_sessions))
    app.add_middleware(RequestLog, registry=registry, logger="attestpay.requests")

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, content_type = metrics_body(registry)
        return Response(body, media_type=content_type)


def _serve_dashboard(app: FastAPI, web_dir: Path) -> None:
    """The web dashboard (a static bundle) at /app, and / leading there."""
    if (web_dir / "index.html").is_file():
        app.mount("/app", StaticFiles(directory=web_dir, html=True), name="dashboard")
    else:

        @app.get("/app", include_in_schema=False)
        def _not_built() -> JSONResponse:
            return JSONResponse(
                {"detail": f"the dashboard is not built: no {web_dir / 'index.html'} (run `make install`)"},
                status_code=404,
            )

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse("/app/")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # What start-up built (modules, the app, the contracts' ABIs: some 360,000 objects) lives as
    # long as the process. Frozen, the collector stops walking it: each full collection would
    # otherwise stall every request in the process for 200-500 ms. Garbage is collected first, so
    # that none is frozen for good.
    gc.collect()
    gc.freeze()
    # Sync endpoints run in this thread pool: no more at once than there are pooled connections.
    to_thread.current_default_thread_limiter().total_tokens = app.state.settings.database_pool_size
    if not app.state.settings.worker_in_process:
        yield
        return
    # A worker thread beside the API: the embedded chain lives in this process, so its worker must too.
    stop = threading.Event()
    worker = Worker(app.state.settings, app.state.sessions, app.state.chain)
    thread = threading.Thread(target=worker.run, args=(stop,), name="attestpay-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)
