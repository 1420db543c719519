"""A worker that dies (exit 70, no clean-up, as a kill would) at one point of the relayer's work:
  after_sign       the signed intent is committed; nothing was broadcast
  after_broadcast  the chain has the transaction; the database still says "signed"
  after_receipt    the receipt was read; the database does not say "confirmed"
Used by the crash-injection tests: `python tests/crashing_worker.py <point>` with the worker's
environment."""

from __future__ import annotations

import os
import sys

from backend.engine import __main__ as engine
from backend.engine.relayer import Relayer

CRASHED = 70


def crash_after(original):
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        if result is not None or original.__name__ == "_send_raw":
            os._exit(CRASHED)
        return result

    return wrapper


def crash_before(original):
    def wrapper(*args, **kwargs):
        os._exit(CRASHED)

    return wrapper


POINTS = {
    "after_sign": ("_broadcast", crash_before),
    "after_broadcast": ("_send_raw", crash_after),
    "after_receipt": ("_receipt", crash_after),
}

if __name__ == "__main__":
    name, patch = POINTS[sys.argv.pop(1)]
    setattr(Relayer, name, patch(getattr(Relayer, name)))
    sys.argv[1:] = ["worker"]
    engine.main()
