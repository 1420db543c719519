"""Compile the contracts with py-solc-x into the committed artifacts the Python side loads.

Settings come from foundry.toml, so Foundry and this script build the same bytecode.
`--check` recompiles and fails, naming the artifact, when a committed one is stale.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import solcx

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "attestpay" / "artifacts"
SOURCES = {
    "MilestoneEscrow": "contracts/solidity/MilestoneEscrow.sol",
    "AttestationRegistry": "contracts/solidity/AttestationRegistry.sol",
    # Test and demo helpers, never deployed in production: a mintable ERC-20, a token that can
    # block an account and a contract party that refuses ETH (so their payouts are credited), and
    # a fake escrow that checks no signature and can pay the wrong amount (for the auditor to catch).
    "MockERC20": "contracts/solidity/test/utils/tokens/MockERC20.sol",
    "BlocklistToken": "contracts/solidity/test/utils/tokens/WeirdTokens.sol",
    "ForwardingWallet": "contracts/solidity/test/utils/ForwardingWallet.sol",
    "FakeEscrow": "contracts/solidity/test/utils/FakeEscrow.sol",
    # A Chainlink-style price feed the local network deploys, for invoices' fiat values.
    "MockPriceFeed": "contracts/solidity/test/utils/MockPriceFeed.sol",
    # Wallets as users hold them: a token with EIP-2612 permits, and an EIP-7702 delegate that
    # answers ERC-1271 in the replay-safe way smart-account wallets do.
    "PermitERC20": "contracts/solidity/test/utils/tokens/PermitERC20.sol",
    "ReplaySafeDelegate": "contracts/solidity/test/utils/accounts/ReplaySafeDelegate.sol",
}


def _profile() -> dict:
    return tomllib.loads((ROOT / "foundry.toml").read_text())["profile"]["default"]


def compiler_settings(profile: dict) -> dict:
    """The standard-JSON settings Foundry uses for this profile (output selection aside)."""
    return {
        "optimizer": {"enabled": profile["optimizer"], "runs": profile["optimizer_runs"]},
        "evmVersion": profile["evm_version"],
        "viaIR": profile.get("via_ir", False),
        "metadata": {"bytecodeHash": profile["bytecode_hash"], "appendCBOR": profile["cbor_metadata"]},
        "remappings": profile["remappings"],
    }


def compiler_version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Version:"))


def compile_artifacts() -> dict[str, dict]:
    """Return {name: artifact} for every contract in SOURCES."""
    profile = _profile()
    binary = ROOT / profile["solc"]
    settings = compiler_settings(profile)
    standard_input = {
        "language": "Solidity",
        "sources": {path: {"content": (ROOT / path).read_text()} for path in SOURCES.values()},
        "settings": settings
        | {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}}},
    }
    output = solcx.compile_standard(standard_input, base_path=str(ROOT), allow_paths=[str(ROOT)], solc_binary=binary)
    version = compiler_version(binary)
    return {
        name: {
            "contractName": name,
            "sourcePath": path,
            "compiler": {"version": version, "settings": settings},
            "abi": output["contracts"][path][name]["abi"],
            "bytecode": "0x" + output["contracts"][path][name]["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + output["contracts"][path][name]["evm"]["deployedBytecode"]["object"],
        }
        for name, path in SOURCES.items()
    }


def render(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a committed artifact is stale")
    args = parser.parse_args()
    artifacts = compile_artifacts()
    if args.check:
        stale = [
            name
            for name, artifact in artifacts.items()
            if not (ARTIFACTS / f"{name}.json").exists() or (ARTIFACTS / f"{name}.json").read_text() != render(artifact)
        ]
        if stale:
            print(f"stale artifacts: {', '.join(stale)}; run `python scripts/compile.py` and commit", file=sys.stderr)
            return 1
        print(f"artifacts up to date: {', '.join(artifacts)}")
        return 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        (ARTIFACTS / f"{name}.json").write_text(render(artifact))
        print(f"wrote {ARTIFACTS.relative_to(ROOT)}/{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
