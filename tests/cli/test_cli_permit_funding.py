"""`attestpay agreement fund --permit` (one transaction, no approval) and `--gasless` (only a
signature; the backend's relayer registers, funds and pays the gas), as a person runs them: the
API and a worker as processes on anvil, the CLI in the test's process (cli_support)."""

from __future__ import annotations

import json
import subprocess
import time

from anvil_support import backend_on_anvil, party_keystores
from cli_support import attestpay
from factories import agreement_body

from attestpay.contracts import deploy
from attestpay.devchain import dev_party

TOTAL = 2 * 110 * 10**18


def test_a_client_funds_with_a_permit_or_gasless_from_the_command_line(anvil, tmp_path):
    token = deploy(anvil.w3, "PermitERC20", sender=dev_party(0).address)
    token.functions.mint(anvil.client.address, 10**24).transact({"from": dev_party(0).address})
    with backend_on_anvil(anvil, tmp_path) as url:
        party_keystores(anvil, tmp_path, "wallet password", "client", "provider")

        def as_party(name: str, *args: str) -> subprocess.CompletedProcess:
            command = ["agreement", "--api", url, "--keystore", f"{name}.json", "--password-file", "password"]
            return attestpay(*command, *args, cwd=tmp_path)

        def consented(title: str) -> str:
            (tmp_path / "terms.json").write_text(json.dumps(agreement_body(anvil, token=token.address, title=title)))
            pk = str(json.loads(as_party("client", "--json", "create", "terms.json").stdout)["id"])
            assert as_party("client", "propose", pk).returncode == 0
            for name in ("client", "provider"):
                assert as_party(name, "consent", pk).returncode == 0
            return pk

        pk = consented("with a permit")
        usage = as_party("client", "fund", pk)
        assert usage.returncode == 2 and "--rpc is needed" in usage.stderr
        funded = as_party("client", "fund", pk, "--permit", "--rpc", anvil.url)
        assert funded.returncode == 0, funded.stderr
        assert funded.stdout.count("sent 0x") == 1  # one transaction, no approval
        assert as_party("client", "status", pk).stdout.strip() == "active (open, open)"

        pk = consented("gasless")
        nonce = anvil.w3.eth.get_transaction_count(anvil.client.address)
        signed = as_party("client", "fund", pk, "--gasless")
        assert signed.returncode == 0, signed.stderr
        assert "the relayer registers and funds the escrow" in signed.stdout
        for _ in range(120):
            if as_party("client", "status", pk).stdout.strip() == "active (open, open)":
                break
            time.sleep(0.5)
        else:
            raise AssertionError((tmp_path / "worker.log").read_text()[-3000:])
        assert token.functions.balanceOf(anvil.escrow.address).call() == 2 * TOTAL
        assert anvil.w3.eth.get_transaction_count(anvil.client.address) == nonce  # the client sent nothing
