"""Every entry point restores a sane recursion limit after its imports: py_ecc (imported by web3)
raises it to 100,000, under which a deeply nested JSON document overflows the C stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from attestpay.process import RECURSION_LIMIT

PROBE = "import atexit, sys; atexit.register(lambda: print('limit', sys.getrecursionlimit())); "


@pytest.mark.slow  # a new process per entry point, each importing the whole stack
@pytest.mark.parametrize(
    "entry",
    [
        "from backend.engine.__main__ import main as run",  # the worker
        "from attestpay_cli.main import run",
        "from oracle.cli import run",
        "from auditor.__main__ import run",
    ],
)
def test_each_entry_point_restores_the_recursion_limit(entry):
    code = PROBE + f"{entry}; import web3; sys.argv = ['entry', '--help']; run()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == f"limit {RECURSION_LIMIT}", done.stderr
