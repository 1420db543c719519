"""`scripts/deploy.py` as an operator runs it: a real process deploying to anvil from an
encrypted keystore, a deployment file the backend connects with, and clear refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from eth_account import Account

from attestpay.contracts import contract_at
from attestpay.devchain import dev_party, free_port
from backend.chain import connect
from backend.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "deployer-password"


def keystore(tmp_path: Path, key: str) -> Path:
    path = tmp_path / "deployer.json"
    path.write_text(json.dumps(Account.encrypt(key, PASSWORD, kdf="pbkdf2", iterations=1_000)))
    (tmp_path / "password").write_text(PASSWORD + "\n")
    return path


def deploy(tmp_path: Path, rpc: str, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        str(ROOT / "scripts" / "deploy.py"),
        "--rpc",
        rpc,
        "--keystore",
        str(tmp_path / "deployer.json"),
        "--out",
        str(tmp_path / "deployment.json"),
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_deploys_both_contracts_and_writes_a_file_the_backend_connects_with(anvil, tmp_path):
    keystore(tmp_path, dev_party(8).key)
    result = deploy(tmp_path, anvil.url, "--password-file", str(tmp_path / "password"), "--json")
    assert result.returncode == 0, result.stderr
    deployment = json.loads((tmp_path / "deployment.json").read_text())
    assert json.loads(result.stdout) == deployment
    assert (deployment["chainId"], deployment["deployer"]) == (anvil.chain_id, dev_party(8).address)
    escrow = contract_at(anvil.w3, "MilestoneEscrow", deployment["escrow"])
    assert escrow.functions.registry().call() == deployment["registry"]
    assert anvil.w3.eth.get_transaction_receipt(deployment["transactions"][0])["blockNumber"] == deployment["block"]

    gateway = connect(Settings(environment="test", rpc_url=anvil.url, deployment_file=tmp_path / "deployment.json"))
    assert (gateway.escrow.address, gateway.registry.address, gateway.start_block) == (
        deployment["escrow"],
        deployment["registry"],
        deployment["block"],
    )


def test_refuses_a_wrong_password_an_empty_account_and_a_missing_node(anvil, tmp_path):
    keystore(tmp_path, dev_party(8).key)
    (tmp_path / "wrong").write_text("not the password\n")
    wrong = deploy(tmp_path, anvil.url, "--password-file", str(tmp_path / "wrong"))
    assert wrong.returncode == 2 and "cannot open the keystore" in wrong.stderr

    keystore(tmp_path, Account.create().key.to_0x_hex())
    empty = deploy(tmp_path, anvil.url, "--password-file", str(tmp_path / "password"))
    assert empty.returncode == 2 and "has no ether" in empty.stderr

    nobody = deploy(tmp_path, f"http://127.0.0.1:{free_port()}", "--password-file", str(tmp_path / "password"))
    assert nobody.returncode == 2 and "no JSON-RPC node answers" in nobody.stderr
    assert not (tmp_path / "deployment.json").exists()
