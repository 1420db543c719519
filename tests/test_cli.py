"""The `attestpay` command as a person runs it: real processes, a real anvil, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from anvil_support import service_env, start_api, stop
from engine_support import RELAYER_PASSWORD, relayer_keystore
from eth_account import Account
from factories import agreement_body
from web3 import HTTPProvider, Web3

from attestpay.devchain import free_port

CLI = str(Path(sys.executable).parent / "attestpay")


def attestpay(*args: str, cwd: Path, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def test_the_help_lists_every_command(tmp_path):
    result = attestpay("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("chain", "deploy", "serve", "verify", "oracle"):
        assert command in result.stdout


def test_chain_starts_anvil_with_the_contracts_and_verify_audits_it(tmp_path):
    chain = subprocess.Popen([CLI, "chain", "--json", "--out", "deployment.json"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(chain.stdout.readline())
        w3 = Web3(HTTPProvider(info["rpc"]))
        assert w3.eth.chain_id == info["chainId"] and len(w3.eth.get_code(info["escrow"])) > 0
        assert json.loads((tmp_path / "deployment.json").read_text())["escrow"] == info["escrow"]

        audited = attestpay("verify", "--rpc", info["rpc"], "--deployment", "deployment.json", "--json", "-", cwd=tmp_path)
        assert audited.returncode == 0, audited.stderr
        report = json.loads(audited.stdout)
        assert report["passed"] and report["escrow"] == info["escrow"] and report["settlementsVerified"] == 0
        nothing = attestpay("verify", "--rpc", info["rpc"], cwd=tmp_path)
        assert nothing.returncode == 2 and "--deployment or --escrow" in nothing.stderr
    finally:
        chain.send_signal(signal.SIGINT)
        chain.wait(timeout=20)


def test_serve_runs_the_backend_on_the_embedded_chain(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTPAY_")} | {"ATTESTPAY_DATABASE_URL": f"sqlite:///{tmp_path}/attestpay.db"}
    server = subprocess.Popen([CLI, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
    result = attestpay("deploy", "--rpc", f"http://127.0.0.1:{free_port()}", "--keystore", "key.json", "--password-file", "key.json", cwd=tmp_path)
    assert result.returncode == 2 and "cannot open the keystore" in result.stderr


def test_a_client_and_a_provider_agree_and_fund_from_the_command_line(anvil, tmp_path):
    keystore, _ = relayer_keystore(tmp_path, anvil.relayer.key)
    env = service_env(anvil, tmp_path, f"sqlite:///{tmp_path}/api.db", keystore, RELAYER_PASSWORD, ATTESTPAY_MIGRATE_ON_START="true")
    api, url = start_api(env, tmp_path / "api.log")
    try:
        (tmp_path / "password").write_text("wallet password\n")
        for name, party in (("client", anvil.client), ("provider", anvil.provider)):
            (tmp_path / f"{name}.json").write_text(json.dumps(Account.encrypt(party.key, "wallet password", kdf="pbkdf2", iterations=1_000)))
        (tmp_path / "terms.json").write_text(json.dumps(agreement_body(anvil)))

        def as_party(name: str, *args: str) -> subprocess.CompletedProcess:
            return attestpay("agreement", "--api", url, "--keystore", f"{name}.json", "--password-file", "password", *args, cwd=tmp_path)

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
    finally:
        stop(api)
