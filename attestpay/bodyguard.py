"""An ASGI guard in front of every JSON parser: a request body is read up to a cap and scanned,
without recursion, before any parser sees it. It refuses what would crash or poison the service:
nesting deeper than a parser should recurse, NaN and Infinity (not JSON), bytes that are not UTF-8,
and text a database cannot store (NUL, a lone UTF-16 surrogate). No refusal echoes the body."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A JSON string whole (so brackets inside text do not count; possessive, so linear), a quote that
# opens no string (the JSON ends being valid there), a bracket, or the first letter of a bare
# NaN/Infinity (outside a string, N and I start no valid JSON token).
_TOKEN = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"|"|[\[\]{}NI]', re.DOTALL)
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def json_problem(body: bytes, max_depth: int) -> str | None:
    """Why `body` must not reach a JSON parser, or None. Up to the first error it tokenizes as a
    parser would, so no body a parser would nest deeper than `max_depth` passes."""
    try:
        body.decode()
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    depth = 0
    for match in _TOKEN.finditer(body):
        first = body[match.start()]
        if first == ord('"'):
            text = match.group()
            if len(text) == 1:  # unterminated: a parser stops here, at no greater depth
                return None
            problem = _escape_problem(text) if b"\\u" in text else None
            if problem:
                return problem
        elif first in b"[{":
            depth += 1
            if depth > max_depth:
                return f"the JSON nests deeper than {max_depth} levels"
        elif first in b"]}":
            depth -= 1
        else:
            return "NaN and Infinity are not JSON numbers"
    return None


def _escape_problem(text: bytes) -> str | None:
    """NUL or an unpaired surrogate among a JSON string's escapes (PostgreSQL stores neither)."""
    low_expected_at = None
    for escape in _ESCAPE.finditer(text):
        unit = int(escape[1], 16) if escape[1] else None
        low = unit is not None and 0xDC00 <= unit <= 0xDFFF
        if low_expected_at is not None:
            if escape.start() != low_expected_at or not low:
                return "text holds an unpaired UTF-16 surrogate"
            low_expected_at = None
        elif unit == 0:
            return "text holds a NUL character (\\u0000)"
        elif unit is not None and 0xD800 <= unit <= 0xDBFF:
            low_expected_at = escape.end()
        elif low:
            return "text holds an unpaired UTF-16 surrogate"
    return "text holds an unpaired UTF-16 surrogate" if low_expected_at is not None else None


class BodyGuard:
    """ASGI middleware: `max_bytes(method, path)` caps each route's body (413 beyond it), and a
    body that `json_problem` refuses is answered 400; everything else reaches the app unchanged."""

    def __init__(self, app: ASGIApp, max_bytes: Callable[[str, str], int], max_depth: int) -> None:
        self.app, self.max_bytes, self.max_depth = app, max_bytes, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.max_bytes(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > cap:
            await _refuse(send, 413, "PayloadTooLarge", f"the body is larger than this route's limit of {cap} bytes")
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _refuse(
                    send, 413, "PayloadTooLarge", f"the body is larger than this route's limit of {cap} bytes"
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = json_problem(body, self.max_depth) if body else None
        if problem:
            await _refuse(send, 400, "InvalidBody", problem)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(send: Send, status: int, error: str, detail: str) -> None:
    body = json.dumps({"detail": detail, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
