"""What every entry point (API, worker, oracle service, CLIs) does to its process after its imports."""

from __future__ import annotations

import sys

import py_ecc  # noqa: F401  # its import raises the recursion limit to 100,000: done first, it cannot do so later

# py-evm's own need (1,024 nested EVM calls in the embedded chain). Under it a recursive parser
# (the C JSON decoder, a deep pydantic model) raises RecursionError before it overflows the C stack;
# at 100,000 a 140 KB JSON body made the decoder overflow it and the process died of a segfault.
RECURSION_LIMIT = 12_288


def restore_recursion_limit() -> None:
    sys.setrecursionlimit(RECURSION_LIMIT)
