"""What the API and the oracle nodes tell their operators: one JSON line per request (its id,
method, route, status and duration; never a header, a body or a query string, where keys and
tokens travel) and Prometheus metrics at `/metrics`."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        } | getattr(record, "fields", {})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, default=str)


def json_logging(level: int = logging.INFO) -> None:
    """Every log record of the process as JSON lines on standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=level, handlers=[handler], force=True)


class RequestLog:
    """ASGI middleware: a request id (the caller's `X-Request-Id` if well-formed, else a new one),
    echoed in the answer; a JSON log line and the request metrics per request."""

    def __init__(self, app, registry: CollectorRegistry, logger: str) -> None:
        self.app, self.log = app, logging.getLogger(logger)
        if not self.log.handlers:  # request lines are JSON whatever the process configured
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonLines())
            self.log.addHandler(handler)
            self.log.setLevel(logging.INFO)
            self.log.propagate = False
        self.requests = Counter(
            "http_requests", "HTTP requests answered", ["method", "route", "status"], registry=registry
        )
        self.seconds = Histogram("http_request_seconds", "time to answer", ["method", "route"], registry=registry)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        status, started = 500, time.perf_counter()

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.seconds.labels(scope["method"], route).observe(seconds)
            self.log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                    }
                },
            )


def metrics_body(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
