"""The README's local-network walkthrough, run as it is written there: its shell block is read from
README.md and run line by line in one shell, in a fresh directory, from `attestpay up` to a
settled, invoiced and independently verified milestone. README and behaviour cannot drift. And its
fast loop's `pytest`, which must find the same packages as `python -m pytest`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the README's commands as processes, on anvil

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A deal of your own on a local network"


def walkthrough() -> str:
    """The first ```sh block of the README's local-network section."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION) :]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_walkthrough_settles_invoices_and_verifies_a_milestone(tmp_path):
    script = walkthrough()
    assert script.startswith("attestpay up ") and "verify" in script and "invoice" in script
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTESTPAY_", "ORACLE_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # `attestpay` as installed
    (tmp_path / "walkthrough.sh").write_text("set -euo pipefail\nset -x\n" + script)
    try:
        result = subprocess.run(
            ["bash", "walkthrough.sh"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500
        )
    finally:
        pid_file = tmp_path / "net" / "up.pid"
        if pid_file.exists():  # the walkthrough failed before its last line: stop the network
            subprocess.run(["kill", pid_file.read_text().strip()], check=False)
    out = result.stdout
    assert result.returncode == 0, f"{out[-3000:]}\n{result.stderr[-3000:]}"
    assert "at target 12 features: pays 20,000 mUSD" in out
    assert "completed (settled)" in out
    assert "invoice AP-3C44CDDD-000001 (settlement of milestone 1), total 20,000 mUSD" in out
    assert "1 settlements verified: every payout checks out" in out
    assert not (tmp_path / "net" / "up.pid").exists()  # stopped cleanly
    assert "Traceback" not in result.stderr


def test_the_readme_fast_loop_finds_the_checkouts_packages():
    """`pytest`, not `python -m pytest`: the working directory is not on the path, and the test folders
    named like packages (tests/auditor, tests/oracle, tests/backend) must not stand in for them."""
    pytest_command = Path(sys.executable).parent / "pytest"
    done = subprocess.run(
        [str(pytest_command), "--collect-only", "-q", "tests/backend/test_backend_einvoice_api.py"],  # imports auditor
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
