"""The `attestpay` command as a person runs it: a real anvil, exit codes; `chain` and `serve` as real
processes, the other commands in the test's process (cli_support)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from anvil_support import backend_on_anvil, party_keystores, push_attestation
from backend_support import OPERATOR_KEY
from cli_support import attestpay
from eth_account import Account
from factories import agreement_body
from web3 import HTTPProvider, Web3

from attestpay.devchain import free_port
from backend.client import BackendClient

CLI = str(Path(sys.executable).parent / "attestpay")


def test_the_help_lists_every_command(tmp_path):
    result = attestpay("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("chain", "deploy", "serve", "agreement", "oracle", "verify", "report", "demo"):
        assert command in result.stdout


@pytest.mark.slow  # anvil and `attestpay chain` as processes
def test_chain_starts_anvil_with_the_contracts_and_verify_audits_it(tmp_path):
    chain = subprocess.Popen(
        [CLI, "chain", "--json", "--out", "deployment.json"], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        info = json.loads(chain.stdout.readline())
        w3 = Web3(HTTPProvider(info["rpc"]))
        assert w3.eth.chain_id == info["chainId"] and len(w3.eth.get_code(info["escrow"])) > 0
        assert json.loads((tmp_path / "deployment.json").read_text())["escrow"] == info["escrow"]

        audited = attestpay(
            "verify", "--rpc", info["rpc"], "--deployment", "deployment.json", "--json", "-", cwd=tmp_path
        )
        assert audited.returncode == 0, audited.stderr
        report = json.loads(audited.stdout)
        assert report["passed"] and report["escrow"] == info["escrow"] and report["settlementsVerified"] == 0
        nothing = attestpay("verify", "--rpc", info["rpc"], cwd=tmp_path)
        assert nothing.returncode == 2 and "--deployment or --escrow" in nothing.stderr
    finally:
        chain.send_signal(signal.SIGINT)
        chain.wait(timeout=20)
    assert not w3.is_connected()  # anvil stopped with it


@pytest.mark.slow  # `attestpay serve` as a process
def test_serve_runs_the_backend_on_the_embedded_chain(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTPAY_")} | {
        "ATTESTPAY_DATABASE_URL": f"sqlite:///{tmp_path}/attestpay.db"
    }
    server = subprocess.Popen(
        [CLI, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert Web3.is_address(health.json()["escrow"])
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def test_deploy_refuses_a_keystore_it_cannot_open(tmp_path):
    (tmp_path / "key.json").write_text("{}")
    result = attestpay(
        "deploy",
        "--rpc",
        f"http://127.0.0.1:{free_port()}",
        "--keystore",
        "key.json",
        "--password-file",
        "key.json",
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "cannot open the keystore" in result.stderr


def test_unreadable_input_and_unreachable_services_get_a_reason_and_exit_2(tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "password").write_text("wallet password\n")
    (tmp_path / "me.json").write_text(
        json.dumps(Account.encrypt(Account.create().key, "wallet password", kdf="pbkdf2", iterations=1_000))
    )
    (tmp_path / "terms.txt").write_text("client: me")
    wallet = ("agreement", "--api", nowhere, "--keystore", "me.json", "--password-file", "password")
    cases = [
        (("agreement", "--api", nowhere, "--keystore", "missing.json", "show", "1"), "'missing.json' does not exist"),
        ((*wallet, "create", "missing.json"), "'missing.json' does not exist"),
        ((*wallet, "create", "terms.txt"), "terms.txt is not JSON"),
        ((*wallet, "status", "1"), f"the backend at {nowhere} did not answer"),
        (
            ("deploy", "--rpc", nowhere, "--keystore", "me.json", "--password-file", "password"),
            f"no JSON-RPC node answers at {nowhere}",
        ),
        (("verify", "--rpc", nowhere, "--escrow", "0x" + "11" * 20), f"the chain at {nowhere} did not answer"),
        (("verify", "--rpc", nowhere, "--deployment", "missing.json"), "cannot read the deployment file"),
    ]
    for args, reason in cases:
        result = attestpay(*args, cwd=tmp_path)
        assert result.returncode == 2 and reason in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_client_and_a_provider_agree_and_fund_from_the_command_line(anvil, tmp_path):
    with backend_on_anvil(anvil, tmp_path, worker=False) as url:
        party_keystores(anvil, tmp_path, "wallet password", "client", "provider")
        (tmp_path / "terms.json").write_text(json.dumps(agreement_body(anvil)))

        def as_party(name: str, *args: str) -> subprocess.CompletedProcess:
            return attestpay(
                "agreement",
                "--api",
                url,
                "--keystore",
                f"{name}.json",
                "--password-file",
                "password",
                *args,
                cwd=tmp_path,
            )

        (tmp_path / "bad-terms.json").write_text(json.dumps(agreement_body(anvil, threshold=4)))
        refused = as_party("client", "create", "bad-terms.json")
        assert refused.returncode == 2 and "HTTP 422" in refused.stderr and "threshold" in refused.stderr, (
            refused.stderr
        )
        created = as_party("client", "--json", "create", "terms.json")
        assert created.returncode == 0, created.stderr
        pk = str(json.loads(created.stdout)["id"])
        assert as_party("client", "propose", pk).returncode == 0
        for name in ("client", "provider"):
            assert as_party(name, "consent", pk).returncode == 0
        assert as_party("client", "status", pk).stdout.strip() == "consented (open, open)"

        refused = as_party("provider", "fund", pk, "--rpc", anvil.url)
        assert refused.returncode == 2 and "only the agreement's client may do this" in refused.stderr
        funded = as_party("client", "fund", pk, "--rpc", anvil.url)
        assert funded.returncode == 0, funded.stderr
        assert "sent 0x" in funded.stdout and f"agreement {pk} " in funded.stdout
        assert as_party("provider", "status", pk).stdout.strip() == "active (open, open)"
        assert anvil.w3.eth.get_balance(anvil.escrow.address) == 220 * 10**18

        # a settlement, then the reports: the audit trail for an auditor's key, the portfolio and the
        # invoice for a party
        client = BackendClient(url)
        agreement = client.request("GET", f"/v1/agreements/{pk}", headers=client.wallet(anvil.client.key))
        auditor_key = client.request(
            "POST", "/v1/api-keys", json={"name": "auditor", "role": "auditor"}, headers={"X-API-Key": OPERATOR_KEY}
        )["key"]
        digest = push_attestation(anvil, url, agreement, 0, 9_700)
        client.act(
            anvil.w3,
            anvil.client.key,
            f"/v1/agreements/{pk}/transactions/settle",
            {"index": 0, "attestation": "0x" + digest.hex()},
        )

        trail = attestpay("report", "--api", url, "--api-key", auditor_key, "agreement", pk, cwd=tmp_path)
        assert trail.returncode == 0, trail.stderr
        assert [line.split()[2] for line in trail.stdout.splitlines()[1:4]] == [
            "AgreementCreated",
            "AgreementFunded",
            "MilestoneSettled",
        ]
        number = trail.stdout.strip().splitlines()[-1].split(": ")[1]
        figures = attestpay(
            "report",
            "--api",
            url,
            "--keystore",
            "client.json",
            "--password-file",
            "password",
            "--json",
            "portfolio",
            cwd=tmp_path,
        )
        assert figures.returncode == 0, figures.stderr
        assert json.loads(figures.stdout)["milestones_settled"] == 1
        lines = attestpay("report", "--api", url, "--api-key", auditor_key, "invoice", number, cwd=tmp_path)
        assert lines.stdout.startswith(f"invoice {number} (settlement of milestone 1), total 110 ETH")
        printed = attestpay(
            "report",
            "--api",
            url,
            "--api-key",
            auditor_key,
            "invoice",
            number,
            "--pdf",
            "invoice.pdf",
            cwd=tmp_path,
        )
        assert printed.returncode == 0 and (tmp_path / "invoice.pdf").read_bytes().startswith(b"%PDF")
        nobody = attestpay("report", "--api", url, "portfolio", cwd=tmp_path)
        assert nobody.returncode == 2 and "--keystore" in nobody.stderr
