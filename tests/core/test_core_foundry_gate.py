"""The Foundry gate: `make test-forge` and `make lint-solidity` fail on a failing test, a compile error
and a badly formatted contract, and pass on a clean tree (so this test can fail). They run in a scratch
copy of the build (Makefile, foundry.toml, scripts/, node_modules) around one tiny contract: the real
contracts take minutes to compile."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # solc-js compiles even a tiny contract in ~15 s on a loaded machine

COUNTER = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

contract Counter {
    uint256 public count;

    function increment() external {
        count += 1;
    }
}
"""

COUNTER_TEST = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Counter} from "../Counter.sol";

contract CounterTest {
    function test_IncrementCountsOne() external {
        Counter counter = new Counter();
        counter.increment();
        require(counter.count() == EXPECTED, "count");
    }
}
"""


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """The build files of the repository around a one-contract tree with a passing, formatted test."""
    for name in ("Makefile", "foundry.toml", "package.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    tests = tmp_path / "contracts" / "solidity" / "test"
    tests.mkdir(parents=True)
    (tmp_path / "contracts" / "solidity" / "Counter.sol").write_text(COUNTER)
    (tests / "Counter.t.sol").write_text(COUNTER_TEST.replace("EXPECTED", "1"))
    return tmp_path


def make(scratch: Path, target: str) -> subprocess.CompletedProcess[str]:
    """`make target` in the scratch copy, with npm's install taken as done (node_modules is main's)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "node_modules/.installed", target],
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_make_test_forge_passes_a_passing_test_and_fails_a_failing_one(scratch: Path) -> None:
    passing = make(scratch, "test-forge")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "1 passed" in passing.stdout

    (scratch / "contracts/solidity/test/Counter.t.sol").write_text(COUNTER_TEST.replace("EXPECTED", "2"))
    failing = make(scratch, "test-forge")
    assert failing.returncode != 0
    assert "[FAIL: count] test_IncrementCountsOne()" in failing.stdout


def test_make_test_forge_fails_on_a_compile_error(scratch: Path) -> None:
    (scratch / "contracts/solidity/Counter.sol").write_text(COUNTER.replace("count += 1;", "count += missing;"))
    broken = make(scratch, "test-forge")
    assert broken.returncode != 0
    assert "Undeclared identifier" in broken.stdout + broken.stderr


def test_make_lint_solidity_passes_formatted_contracts_and_fails_a_badly_formatted_one(scratch: Path) -> None:
    formatted = make(scratch, "lint-solidity")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr

    (scratch / "contracts/solidity/Counter.sol").write_text(COUNTER.replace("count += 1;", "count+=1 ;"))
    unformatted = make(scratch, "lint-solidity")
    assert unformatted.returncode != 0
    assert "Counter.sol" in unformatted.stdout + unformatted.stderr
