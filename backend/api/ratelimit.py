"""Fixed-window request limits per caller and bucket, kept in this process's memory: each replica
limits on its own, so the effective limit is the per-replica limit times the replicas."""

from __future__ import annotations

import threading
import time

from backend.errors import RateLimited


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
