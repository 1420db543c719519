"""Every mistake a newcomer made with the `attestpay` command is one line that says what to do,
exit status 2, and no traceback: wrong passwords and files, missing settings, the wrong chain, a
wrong deployment path, type errors the API refuses; and the help works everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from anvil_support import backend_on_anvil, party_keystores
from cli_support import attestpay as in_process
from eth_account import Account
from factories import agreement_body

from attestpay.devchain import free_port, run_anvil
from backend.client import BackendClient

PASSWORD = "wallet password"


def attestpay(*args: str, cwd: Path, env: dict | None = None, process: bool = False) -> subprocess.CompletedProcess:
    """The command in the test's process, or with `process` as a new one (a server reads its settings once)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ATTESTPAY_", "ORACLE_"))}
    if process:
        command = [str(Path(sys.executable).parent / "attestpay"), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd, env=clean | (env or {}))
    return in_process(*args, cwd=cwd, env=clean | (env or {}))


def assert_one_line(result: subprocess.CompletedProcess, reason: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert reason in lines[0], result.stderr


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "password").write_text(PASSWORD + "\n")
    (tmp_path / "wrong-password").write_text("not the password\n")
    (tmp_path / "me.json").write_text(
        json.dumps(Account.encrypt(Account.create().key, PASSWORD, kdf="pbkdf2", iterations=1_000))
    )
    (tmp_path / "terms.json").write_text(json.dumps({"title": "not a keystore"}))
    return tmp_path


def test_a_wrong_password_or_a_file_that_is_not_a_keystore_is_named(files):
    nowhere = f"http://127.0.0.1:{free_port()}"
    wallet = ("agreement", "--api", nowhere, "--keystore")
    cases = [
        ((*wallet, "me.json", "--password-file", "wrong-password", "status", "1"), "wrong password for the keystore"),
        ((*wallet, "terms.json", "--password-file", "password", "status", "1"), "is not an encrypted keystore"),
        ((*wallet, "password", "--password-file", "password", "status", "1"), "is not a keystore (not JSON)"),
        (
            ("oracle", "anchor", "--rpc", nowhere, "--registry", "0x" + "11" * 20, "--keystore", "me.json"),
            "wrong password for the keystore",
        ),
        (
            (
                "oracle",
                "revoke",
                "0x" + "22" * 32,
                "--rpc",
                nowhere,
                "--escrow",
                "0x" + "11" * 20,
                "--keystore",
                "terms.json",
            ),
            "is not an encrypted keystore",
        ),
        (("wallet", "address", "terms.json"), "is not a keystore with an address"),
    ]
    for args, reason in cases:
        env = {"ORACLE_PASSWORD_FILE": "wrong-password"} if args[0] == "oracle" else {}
        env = {"ORACLE_KEYSTORE_PASSWORD": "not the password"} if args[0] == "oracle" else env
        assert_one_line(attestpay(*args, cwd=files, env=env), reason)


@pytest.mark.slow  # `attestpay serve` as a process, four times
def test_serve_names_the_settings_to_fix(files):
    cases = [
        ({"ATTESTPAY_RPC_URL": "http://127.0.0.1:1"}, "ATTESTPAY_RPC_URL needs ATTESTPAY_DEPLOYMENT_FILE"),
        ({"ATTESTPAY_DATABASE_POOL_SIZE": "many"}, "ATTESTPAY_DATABASE_POOL_SIZE: Input should be a valid integer"),
        (
            {"ATTESTPAY_RPC_URL": "http://127.0.0.1:1", "ATTESTPAY_DEPLOYMENT_FILE": "missing.json"},
            "ATTESTPAY_DEPLOYMENT_FILE=missing.json does not exist",
        ),
        ({"ATTESTPAY_ENVIRONMENT": "prod"}, "ATTESTPAY_ENVIRONMENT: Input should be"),
    ]
    for env, reason in cases:
        assert_one_line(attestpay("serve", "--port", str(free_port()), cwd=files, env=env, process=True), reason)


def test_help_works_everywhere_and_is_not_cut(files):
    top = attestpay("--help", cwd=files)
    commands = top.stdout.split("Commands:")[1]
    assert top.returncode == 0 and "…" not in commands and "..." not in commands, top.stdout
    for command in ("wallet", "agreement", "verify"):
        assert f"  {command} " in top.stdout
    create = attestpay("agreement", "create", "--help", cwd=files)
    assert create.returncode == 0 and "TERMS" in create.stdout, create.stderr
    verify = attestpay("verify", "--help", cwd=files)
    assert verify.returncode == 0 and verify.stdout.startswith("usage: attestpay verify"), verify.stdout
    assert "python -m auditor" not in verify.stdout
    assert_one_line(attestpay("verify", "--bogus", cwd=files), "the following arguments are required: --rpc")


@pytest.fixture
def other_chain():
    """A bare anvil on chain 999: a node that is not the one the backend or the deployment uses."""
    process, url, _ = run_anvil("--chain-id", "999")
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_the_wrong_chain_and_a_wrong_deployment_are_named(anvil, other_chain, files):
    anvil.deployment(files / "deployment.json")
    assert_one_line(
        attestpay("verify", "--rpc", other_chain, "--deployment", "deployment.json", cwd=files),
        f"the deployment is on chain {anvil.chain_id} but the node at {other_chain} is chain 999",
    )
    assert_one_line(
        attestpay("verify", "--rpc", anvil.url, "--escrow", "0x" + "11" * 20, cwd=files),
        "no contract at 0x1111111111111111111111111111111111111111",
    )
    assert_one_line(
        attestpay("verify", "--rpc", anvil.url, "--deployment", "deploymnet.json", cwd=files),
        "cannot read the deployment file",
    )

    with backend_on_anvil(anvil, files, worker=False) as url:
        party_keystores(anvil, files, PASSWORD, "client")
        client = BackendClient(url)
        pk = client.consented_agreement(agreement_body(anvil), anvil.client.key, anvil.provider.key)["id"]
        as_client = ("agreement", "--api", url, "--keystore", "client.json", "--password-file", "password")
        assert_one_line(
            attestpay(*as_client, "fund", str(pk), "--rpc", other_chain, cwd=files),
            f"the node is chain 999 but the backend's escrow is on chain {anvil.chain_id}",
        )
        body = agreement_body(anvil)
        body["milestones"][0]["amount"] = "a lot"
        (files / "typo.json").write_text(json.dumps(body))
        assert_one_line(attestpay(*as_client, "create", "typo.json", cwd=files), "milestones.0.amount")
