"""A worker that dies (exit 70, no clean-up, as a kill would) at one point of the relayer's work:
  after_sign       the signed intent is committed; nothing was broadcast
  after_broadcast  the chain has the transaction; the database still says "signed"
  after_receipt    the receipt was read; the database does not say "confirmed"
Used by the crash-injection tests: `python tests/crashing_worker.py <point>` with the worker's
environment."""

from __future__ import annotations

import sys

from crash_support import die_after, die_before

from backend.engine import __main__ as engine
from backend.engine.relayer import Relayer


def die_after_a_receipt(original):
    """The relayer asks for a receipt until one is mined: the process dies once one is read."""
    return die_after(original, when=lambda receipt: receipt is not None)


POINTS = {
    "after_sign": ("_broadcast", die_before),
    "after_broadcast": ("_send_raw", die_after),
    "after_receipt": ("_receipt", die_after_a_receipt),
}

if __name__ == "__main__":
    name, patch = POINTS[sys.argv.pop(1)]
    setattr(Relayer, name, patch(getattr(Relayer, name)))
    sys.argv[1:] = ["worker"]
    engine.main()
