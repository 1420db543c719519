"""The oracle node's service, served as `attestpay-oracle serve` runs it, survives a body nested
100,000 deep on every operation that takes one, from a stranger and from a caller with the key
(a peer node or a backend that was taken over)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from process_support import body_operations, deep_json, serving

pytestmark = pytest.mark.slow  # oracle nodes as processes

CLI = Path(sys.executable).parent / "attestpay-oracle"
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's first dev account


def test_deep_json_to_every_operation_leaves_the_node_answering(tmp_path):
    (tmp_path / "password").write_text("correct horse\n")
    env = {"ORACLE_PASSWORD_FILE": str(tmp_path / "password"), "PATH": "/usr/bin:/bin"}
    env |= {"ORACLE_API_KEY": "node-api-key-0123456789"}
    imported = subprocess.run(
        [str(CLI), "keys", "import", "oracle.json"],
        cwd=tmp_path,
        env=env,
        input=DEV_KEY.encode() + b"\n",
        capture_output=True,
    )
    assert imported.returncode == 0, imported.stderr
    command = [str(CLI), "serve", "--port", "{port}", "--escrow", "0x" + "cd" * 20, "--chain-id", "31337"]
    with serving([*command, "--keystore", "oracle.json"], env, tmp_path, tmp_path / "node.log") as (process, url):
        operations = body_operations(url)
        assert ("POST", "/v1/measurements") in operations
        with httpx.Client(base_url=url, timeout=30) as http:
            for method, path in operations:
                for key in ("wrong", env["ORACLE_API_KEY"]):
                    headers = {"X-API-Key": key, "Content-Type": "application/json"}
                    response = http.request(method, path, content=deep_json(), headers=headers)
                    assert response.status_code in (400, 413), (path, response.status_code)
            nan = http.post("/v1/measurements", content=b'{"milestone_index": NaN}')
            assert nan.status_code == 400 and nan.json()["detail"] == "NaN and Infinity are not JSON numbers"
            assert http.get("/healthz").status_code == 200
        assert process.poll() is None
