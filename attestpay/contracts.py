"""The committed contract artifacts (written by scripts/compile.py), loaded without Node."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

from web3 import Web3
from web3.contract import Contract

ARTIFACTS = Path(__file__).parent / "artifacts"


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """The artifact of contract `name` (abi, bytecode, deployedBytecode, compiler)."""
    path = ARTIFACTS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no artifact {path}; run `python scripts/compile.py`")
    return json.loads(path.read_text())


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for a deployed `name`."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name)["abi"])


def deploy(w3: Web3, name: str, *args: Any, sender: str) -> Contract:
    """Deploy `name` from `sender` (an unlocked account) and wait for the receipt."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor(*args).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    return contract_at(w3, name, cast(str, receipt["contractAddress"]))
