"""scripts/solc: the npm compiler behind native solc's command line, or a native solc of the pinned
version when one is on PATH."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "scripts" / "solc"
PINNED = json.loads((ROOT / "package.json").read_text())["dependencies"]["solc"]


def _fake_native(directory: Path, version: str) -> None:
    fake = directory / "solc"
    fake.write_text(
        f'#!/bin/sh\necho "solc, the solidity compiler commandline interface"\n'
        f'echo "Version: {version}+commit.native.Linux.g++"\n'
    )
    fake.chmod(0o755)


def _version(path_dir: Path | None = None) -> str:
    env = dict(os.environ)
    if path_dir is not None:
        env["PATH"] = f"{path_dir}{os.pathsep}{env['PATH']}"
    return subprocess.run([str(WRAPPER), "--version"], capture_output=True, text=True, check=True, env=env).stdout


def test_without_a_native_solc_the_npm_compiler_answers():
    assert f"Version: {PINNED}+" in _version()
    assert "Emscripten" in _version()


def test_a_native_solc_of_the_pinned_version_is_preferred(tmp_path):
    _fake_native(tmp_path, PINNED)
    assert "commit.native" in _version(tmp_path)


def test_a_native_solc_of_another_version_is_ignored(tmp_path):
    _fake_native(tmp_path, "0.8.19")
    assert "Emscripten" in _version(tmp_path)


def test_standard_json_resolves_imports_through_the_base_path():
    source = (
        'import {Math} from "@openzeppelin/contracts/utils/math/Math.sol"; '
        "contract C { function f() external pure returns (uint256) { return Math.max(1, 2); } }"
    )
    request = {
        "language": "Solidity",
        "sources": {"C.sol": {"content": "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n" + source}},
        "settings": {
            "remappings": ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"],
            "outputSelection": {"*": {"*": ["abi"]}},
        },
    }
    out = subprocess.run(
        [str(WRAPPER), "--standard-json", "--base-path", str(ROOT), "--allow-paths", str(ROOT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out)
    assert not [e for e in result.get("errors", []) if e["severity"] == "error"]
    assert result["contracts"]["C.sol"]["C"]["abi"][0]["name"] == "f"


def test_an_unknown_option_is_refused_with_a_message():
    result = subprocess.run([str(WRAPPER), "--bin", "x.sol"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "unsupported option --bin" in result.stderr
