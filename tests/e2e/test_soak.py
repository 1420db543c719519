"""`make soak`, briefly: 25 seconds of lifecycles through 2 API replicas and 2 workers on anvil and
PostgreSQL while a worker is killed, PostgreSQL restarts, the chain reorganises and the services'
RPC endpoint misbehaves; every invariant must hold afterwards."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from backend_support import postgres_or_skip

pytestmark = [pytest.mark.anvil, pytest.mark.postgres, pytest.mark.slow, pytest.mark.serial]  # restarts PostgreSQL

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_with_faults_keeps_every_invariant():
    postgres_or_skip()
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--seconds", "25"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "every invariant holds" in done.stdout
    assert (
        re.search(r"worker killed \(SIGKILL\) and restarted ×2", done.stdout)
        and "chain reorganisation ×1" in done.stdout
    )
    assert (
        "PostgreSQL restarted ×1" in done.stdout
        or "every database connection dropped (a restart as clients see it) ×2" in done.stdout
    )
    assert "withdraw done" in done.stdout or "withdraw cut short" in done.stdout  # the mix reached a credited payment
    assert re.search(r"\[ok\] no milestone paid twice: [1-9]\d* milestones settled", done.stdout), (
        done.stdout
    )  # the load did settle
