"""The dashboard's payout curve (web/src/payout.js) pays what attestpay.payout and PayoutMath.sol pay on
the shared vectors: node's built-in test runner runs web/test/payout.test.mjs."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_payout_js_agrees_with_the_shared_vectors():
    run = subprocess.run(["node", "--test", "web/test/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
