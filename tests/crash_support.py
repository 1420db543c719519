"""Crash injection for the scripts the crash-recovery tests run (crashing_worker.py,
crashing_anchorer.py): a function wrapped so that the process dies at it, with exit status 70 and
no clean-up, as a kill would leave it."""

from __future__ import annotations

import os

CRASHED = 70


def die_before(_original):
    """The process dies where `_original` would run."""

    def wrapper(*_args, **_kwargs):
        os._exit(CRASHED)

    return wrapper


def die_after(original, when=lambda _result: True):
    """`original` runs; the process dies once it returns a result `when` accepts (any, by default)."""

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        if when(result):
            os._exit(CRASHED)
        return result

    return wrapper
