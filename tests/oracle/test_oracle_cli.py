"""`attestpay-oracle` as a person runs it: exit codes, `serve` as a real process and the other commands
in the test's process (cli_support), and a real chain (anvil from
npm, Prague) for anchoring and revocation over JSON-RPC."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cli_support import attestpay_oracle
from web3 import Web3

from attestpay.contracts import deploy
from attestpay.devchain import run_anvil
from attestpay.devstack import MODEL_ACCURACY_SPEC
from attestpay.verify import recover

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "attestpay-oracle"
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's first dev account
ANVIL_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
SPEC = MODEL_ACCURACY_SPEC


def oracle(workdir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {"ORACLE_PASSWORD_FILE": str(workdir / "password"), "PATH": "/usr/bin:/bin"}
    return attestpay_oracle(*args, cwd=workdir, input=stdin, env=env)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "password").write_text("correct horse\n")
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    rows = [{"time": 10, "prediction": 1, "label": 1 if i < 93 else 0} for i in range(100)]
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert oracle(tmp_path, "keys", "import", "oracle.json", stdin=ANVIL_KEY + "\n").stdout.strip() == ANVIL_ADDRESS
    return tmp_path


@pytest.fixture(scope="module")
def anvil():
    process, _, w3 = run_anvil()
    try:
        yield w3
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_measure_prints_the_value_and_evidence(workdir):
    result = oracle(workdir, "measure", "spec.json", "--at", "100", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["value"], out["used"], out["observedAt"]) == (9300, 100, 100)
    assert (workdir / "evidence" / out["evidenceHash"][2:4] / out["evidenceHash"][2:]).exists()


def test_attest_anchor_proof_and_revoke_on_a_real_chain(workdir, anvil):
    registry = deploy(anvil, "AttestationRegistry", sender=ANVIL_ADDRESS)
    escrow = deploy(anvil, "MilestoneEscrow", registry.address, sender=ANVIL_ADDRESS)
    agreement = "0x" + "ab" * 32
    result = oracle(
        workdir,
        "attest",
        "spec.json",
        "--agreement",
        agreement,
        "--milestone",
        "0",
        "--at",
        "100",
        "--escrow",
        escrow.address,
        "--chain-id",
        str(anvil.eth.chain_id),
        "--keystore",
        "oracle.json",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    signed = json.loads(result.stdout)
    assert signed["attestation"]["value"] == 9300
    digest = bytes.fromhex(signed["digest"][2:])
    assert Web3.to_checksum_address(recover(digest, bytes.fromhex(signed["signature"][2:]))) == ANVIL_ADDRESS

    chain = ["--rpc", anvil.provider.endpoint_uri, "--registry", registry.address, "--keystore", "oracle.json"]
    assert oracle(workdir, "anchor", *chain).returncode == 0
    assert oracle(workdir, "anchor", *chain).stdout.strip() == "nothing to anchor"
    located = json.loads(oracle(workdir, "proof", signed["digest"], "--json").stdout)
    proof = [bytes.fromhex(p[2:]) for p in located["proof"]]
    assert registry.functions.isIncluded(bytes.fromhex(located["root"][2:]), digest, proof).call()

    chain[2:4] = ["--escrow", escrow.address]
    assert oracle(workdir, "revoke", signed["digest"], *chain).returncode == 0
    assert escrow.functions.isRevoked(digest, ANVIL_ADDRESS).call()


def test_errors_are_messages_with_meaningful_exit_codes(workdir):
    (workdir / "bad.json").write_text(json.dumps(SPEC | {"decimals": -1}))
    bad_spec = oracle(workdir, "measure", "bad.json")
    assert bad_spec.returncode == 1 and "decimals" in bad_spec.stderr and "Traceback" not in bad_spec.stderr
    missing = oracle(workdir, "measure", "spec.json", "--data", str(workdir / "elsewhere"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert oracle(workdir, "proof", "0x1234").returncode == 2  # not 32 bytes: a usage error
    unanchored = oracle(workdir, "proof", "0x" + "11" * 32)
    assert unanchored.returncode == 1 and "not anchored yet" in unanchored.stderr
    again = oracle(workdir, "keys", "create", "oracle.json")
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    (workdir / "password").write_text("wrong\n")
    wrong = oracle(
        workdir,
        "attest",
        "spec.json",
        "--agreement",
        "0x" + "ab" * 32,
        "--milestone",
        "0",
        "--escrow",
        "0x" + "cd" * 20,
        "--chain-id",
        "1",
        "--keystore",
        "oracle.json",
    )
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr and ANVIL_KEY[2:] not in wrong.stderr


@pytest.mark.slow  # `attestpay-oracle serve` as a process
def test_serve_runs_the_http_service_logs_json_lines_and_serves_metrics(workdir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (workdir / "api-key").write_text("node-api-key-0123456789\n")
    env = {
        "ORACLE_PASSWORD_FILE": str(workdir / "password"),
        "ORACLE_API_KEY_FILE": str(workdir / "api-key"),
        "PATH": "/usr/bin:/bin",
    }
    command = [str(CLI), "serve", "--port", str(port), "--escrow", "0x" + "cd" * 20, "--chain-id", "31337"]
    log = (workdir / "node.log").open("w")
    server = subprocess.Popen(
        [*command, "--keystore", "oracle.json"], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    try:
        deadline, health = time.monotonic() + 120, None  # a deadline, not a count of tries: a loaded machine
        while health is None and time.monotonic() < deadline:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
            except requests.ConnectionError:
                time.sleep(0.1)
        assert (health["status"], health["signer"], health["unanchored"]) == ("ok", ANVIL_ADDRESS, 0)
        refused = requests.post(
            f"http://127.0.0.1:{port}/v1/measurements",
            json={},
            headers={"X-API-Key": "wrong-key-0123456789", "X-Request-Id": "req-42"},
            timeout=5,
        )
        assert refused.status_code == 401 and refused.headers["X-Request-Id"] == "req-42"
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "oracle_anchor_queue_depth 0.0" in metrics and 'status="401"' in metrics
    finally:
        server.terminate()
        server.wait(timeout=10)
    lines = [json.loads(line) for line in (workdir / "node.log").read_text().splitlines() if line.startswith("{")]
    (logged,) = [line for line in lines if line.get("request_id") == "req-42"]
    assert (logged["method"], logged["route"], logged["status"]) == ("POST", "/v1/measurements", 401)
    assert "0123456789" not in (workdir / "node.log").read_text()  # no key, not even the wrong one

    no_key = subprocess.run(
        [*command, "--keystore", "oracle.json"],
        cwd=workdir,
        env=env | {"ORACLE_API_KEY_FILE": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_key.returncode == 1 and "set ORACLE_API_KEY or ORACLE_API_KEY_FILE" in no_key.stderr
    in_argv = subprocess.run([*command, "--api-key", "x" * 20], cwd=workdir, env=env, capture_output=True, text=True)
    assert in_argv.returncode == 2 and "No such option" in in_argv.stderr
