"""The FastAPI application: routers, the one error handler, and start-up (migrations, chain)."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from attestpay import pricing
from attestpay.bodyguard import BodyGuard
from attestpay.observability import RequestLog, metrics_body
from attestpay.process import restore_recursion_limit
from backend.api.errors import error_response
from backend.api.ratelimit import RateLimiter, SignInLimit
from backend.api.routes import (
    agreements,
    attestations,
    auth,
    automation,
    designs,
    evidence,
    funding,
    health,
    invoices,
    profiles,
    reports,
    terms,
    transactions,
)
from backend.api.schemas import ERROR_RESPONSES
from backend.chain import NODE_FAULTS, ChainGateway, connect
from backend.db.migrate import upgrade
from backend.db.session import make_engine
from backend.engine.worker import Worker
from backend.errors import BackendError, ChainUnavailable
from backend.memory import BoundedMap
from backend.services.metrics import DatabaseCollector
from backend.services.sessions import make_sessionmaker
from backend.settings import Settings, get_settings

# The routers, included once per process. FastAPI resolves an included route (its parameter and
# response models) at its first request, once per inclusion: every app create_app makes serves these
# same inclusions, so only the first pays (0.15 to 0.3 s of CPU; the tests make hundreds of apps).
ROUTES = APIRouter()
for _module in (
    health,
    auth,
    agreements,
    transactions,
    funding,
    attestations,
    automation,
    invoices,
    reports,
    evidence,
    profiles,
    terms,
    designs,
):
    ROUTES.include_router(_module.router, responses=ERROR_RESPONSES)

AUTH_BODY_BYTES = 8_192  # a SIWE message and its signature, with room to spare
ECHO_CHARS = 200  # the longest input a 422 repeats back


def create_app(settings: Settings | None = None, chain: ChainGateway | None = None) -> FastAPI:
    """The service on `settings` (default: the environment's) and `chain` (default: the one the
    settings name; without an RPC URL, a fresh embedded chain)."""
    restore_recursion_limit()
    settings = settings or get_settings()
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    app = FastAPI(
        title="AttestPay backend",
        version="1",
        routes=ROUTES.routes,
        lifespan=_lifespan,
        description="Milestone agreements, consent, wallet transactions, attestations, invoices and reports.",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, settings.database_pool_size)
    app.state.sessions = make_sessionmaker(app.state.engine)
    app.state.read_sessions = make_sessionmaker(app.state.engine.execution_options(isolation_level="AUTOCOMMIT"))
    app.state.chain = chain or connect(settings)
    app.state.limiter = RateLimiter()
    app.state.prices = pricing.parse_sources(settings.prices)
    app.state.agreement_facts = BoundedMap(10_000)  # what intake checks, per agreement id
    app.add_middleware(BodyGuard, max_bytes=_body_limit(settings), max_depth=settings.max_json_depth)
    app.add_middleware(SignInLimit, limiter=app.state.limiter, settings=settings)  # outermost: counts every try

    @app.exception_handler(BackendError)
    def _domain_error(_request: Request, exc: BackendError) -> JSONResponse:
        return error_response(exc)

    def _node_fault(request: Request, exc: Exception) -> JSONResponse:
        """A chain call outside the gateway's own handling (a block's time, an allowance) failed at the node."""
        return _domain_error(
            request, ChainUnavailable(f"the chain's node did not answer usefully ({type(exc).__name__}); retry")
        )

    for fault in NODE_FAULTS:
        app.add_exception_handler(fault, _node_fault)

    @app.exception_handler(DBAPIError)
    def _database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated and not isinstance(exc, OperationalError):
            raise exc
        return _database_unavailable("the database did not answer or the connection to it was lost; retry")

    @app.exception_handler(PoolTimeout)
    def _pool_exhausted(_request: Request, _exc: PoolTimeout) -> JSONResponse:
        return _database_unavailable("no database connection came free in time; retry")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:  # Starlette's Allow names the first route's methods, not the path's
            exc.headers = {"Allow": ", ".join(_allowed_methods(request))}
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_problem(e) for e in exc.errors()], "error": "InvalidInput"}, status_code=422)

    _observe(app)
    _serve_dashboard(app, settings.web_dir)
    return app


def _body_limit(settings: Settings) -> Callable[[str, str], int]:
    """The body cap of each route: agreement terms are the largest bodies, sign-in the smallest."""

    def limit(method: str, path: str) -> int:
        if (method, path) == ("POST", "/v1/agreements") or (method == "PUT" and path.startswith("/v1/agreements/")):
            return settings.max_terms_body_bytes
        if path.startswith("/v1/auth/"):
            return AUTH_BODY_BYTES
        return settings.max_body_bytes

    return limit


def _allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document serves at the request's path (HEAD wherever GET is)."""
    app = request.app
    if not hasattr(app.state, "methods_by_path"):
        app.state.methods_by_path = [
            (compile_path(path)[0], {m.upper() for m in item} | ({"HEAD"} if "get" in item else set()))
            for path, item in app.openapi()["paths"].items()
        ]
    return sorted({m for regex, methods in app.state.methods_by_path if regex.match(request.url.path) for m in methods})


def _database_unavailable(detail: str) -> JSONResponse:
    body = {"detail": detail, "error": "DatabaseUnavailable", "retry_after": 1}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


def _problem(error: dict) -> dict:
    """A validation problem without a large input echoed back (a short one helps the caller)."""
    problem = {k: error[k] for k in ("type", "loc", "msg") if k in error}
    if "ctx" in error:
        problem["ctx"] = {k: str(v)[:ECHO_CHARS] for k, v in error["ctx"].items()}
    if "input" in error and _short(error["input"]):
        problem["input"] = error["input"]
    return problem


def _short(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= ECHO_CHARS
    if isinstance(value, int):  # bool too
        return abs(value) < 10**ECHO_CHARS
    return value is None or isinstance(value, float)


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
