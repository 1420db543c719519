"""Fixed-window request limits per caller and bucket, kept in this process's memory: each replica
limits on its own, so the effective limit is the per-replica limit times the replicas."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from backend.api.errors import error_response
from backend.errors import RateLimited

SIGN_IN_PATHS = ("/v1/auth/nonce", "/v1/auth/sign-in")


class RateLimiter:
    def __init__(self, window_seconds: float = 60.0) -> None:
        self.window = window_seconds
        self._counts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, caller: str, limit: int) -> None:
        """Count one request; RateLimited once `caller` has made `limit` in this window."""
        window = int(time.monotonic() // self.window)
        key = (bucket, caller, window)
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if k[2] == window}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        if count > limit:
            retry = int(self.window - time.monotonic() % self.window) + 1
            raise RateLimited(f"too many {bucket} requests; retry in {retry} s", retry_after=retry)


def client_address(scope: dict, trusted_proxies: Sequence[IPv4Network | IPv6Network]) -> str:
    """The connected peer; behind a proxy in `trusted_proxies`, the nearest address its
    X-Forwarded-For names that is not itself a trusted proxy (entries further left are the
    client's own word, so they never count)."""
    peer = scope["client"][0] if scope.get("client") else "unknown"
    if not _trusted(peer, trusted_proxies):
        return peer
    forwarded = b",".join(v for k, v in scope["headers"] if k == b"x-forwarded-for").decode("latin-1")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop, trusted_proxies):
            return hop
    return peer


def _trusted(address: str, networks: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class SignInLimit:
    """ASGI middleware counting every request to the sign-in routes against the caller's address
    before anything else reads it: a malformed, oversized or invalid body counts too."""

    def __init__(self, app, limiter: RateLimiter, settings) -> None:
        self.app, self.limiter, self.settings = app, limiter, settings

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(SIGN_IN_PATHS):
            caller = client_address(scope, self.settings.trusted_proxies)
            try:
                self.limiter.hit("sign-in", caller, self.settings.sign_ins_per_minute)
            except RateLimited as exc:
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
