"""Deploying the registry and the escrow to a JSON-RPC chain from a key held here (signed
locally, EIP-1559 fees), waiting for confirmations, and the deployment file that the backend and
the oracle read: {"chainId", "escrow", "registry", "block", "deployer", "transactions"}."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt

from attestpay.contracts import load_artifact


class DeploymentError(Exception):
    """The deployment could not be done; the message says what to change."""


def deploy_contracts(
    w3: Web3,
    account: LocalAccount,
    confirmations: int = 1,
    timeout: float = 300,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Deploys AttestationRegistry, then MilestoneEscrow bound to it; returns the deployment."""
    balance = w3.eth.get_balance(account.address)
    if balance == 0:
        raise DeploymentError(f"the deployer {account.address} has no ether on chain {w3.eth.chain_id} to pay for gas")
    registry = _create(w3, account, "AttestationRegistry", (), timeout, progress)
    escrow = _create(w3, account, "MilestoneEscrow", (registry["contractAddress"],), timeout, progress)
    _confirm(w3, escrow["blockNumber"], confirmations, timeout, progress)
    return {
        "chainId": w3.eth.chain_id,
        "escrow": escrow["contractAddress"],
        "registry": registry["contractAddress"],
        "block": registry["blockNumber"],
        "deployer": account.address,
        "transactions": ["0x" + bytes(r["transactionHash"]).hex() for r in (registry, escrow)],
    }


def write(deployment: dict, path: Path) -> None:
    path.write_text(json.dumps(deployment, indent=2) + "\n")


def _create(w3: Web3, account: LocalAccount, name: str, args: tuple, timeout: float, progress) -> TxReceipt:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    base_fee = w3.eth.get_block("latest").get("baseFeePerGas", 0)
    tip = w3.eth.max_priority_fee
    tx = factory.constructor(*args).build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id,
            "maxFeePerGas": 2 * base_fee + tip,
            "maxPriorityFeePerGas": tip,
        }
    )
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    progress(f"{name}: sent {tx_hash.to_0x_hex()}")
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1:
        raise DeploymentError(f"deploying {name} reverted in {tx_hash.to_0x_hex()}")
    progress(f"{name}: deployed at {receipt['contractAddress']} in block {receipt['blockNumber']}")
    return receipt


def _confirm(w3: Web3, block: int, confirmations: int, timeout: float, progress) -> None:
    deadline = time.monotonic() + timeout
    while (held := w3.eth.block_number - block + 1) < confirmations:
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"only {held} of {confirmations} confirmations after {timeout:.0f} s; is the chain producing blocks?"
            )
        time.sleep(1)
    progress(f"confirmed by {confirmations} block(s)")
