"""The party lifecycle after funding from the command line, on anvil with the API and a worker as
processes and the CLI in the test's process (cli_support): accept-partial shows what it pays first (and
warns below the floor), dispute and the arbiter's split, reclaim after deadline + cure window, list."""

from __future__ import annotations

import os
import subprocess
import time

from anvil_support import backend_on_anvil, party_keystores, push_attestation
from cli_support import attestpay
from factories import agreement_body

from backend.client import BackendClient

DAY = 86_400


def test_accept_partial_dispute_resolve_reclaim_and_list(anvil, tmp_path):
    with backend_on_anvil(anvil, tmp_path) as url:
        party_keystores(anvil, tmp_path, "pw", "client", "provider", "arbiter")

        def as_party(name: str, *args: str, answer: str = "") -> subprocess.CompletedProcess:
            command = ["agreement", "--api", url, "--keystore", f"{name}.json", "--password-file", "password"]
            return attestpay(
                *command, *args, cwd=tmp_path, input=answer, env=os.environ | {"ATTESTPAY_RPC_URL": anvil.url}
            )

        client = BackendClient(url)
        agreement = client.consented_agreement(
            agreement_body(anvil, milestones=3), anvil.client.key, anvil.provider.key
        )
        pk = str(agreement["id"])
        assert as_party("client", "fund", pk).returncode == 0
        agreement = client.request("GET", f"/v1/agreements/{pk}", headers=client.wallet(anvil.client.key))

        def status() -> str:
            return as_party("provider", "status", pk).stdout.strip()

        push_attestation(anvil, url, agreement, 0, 7_000)  # below the floor of 80%
        refused = as_party("provider", "accept-partial", pk, "1", answer="n\n")
        assert "WARNING: the result is below the floor: accepting pays the provider nothing" in refused.stderr
        assert "pays 0 ETH now" in refused.stderr and refused.returncode == 2 and "not accepted" in refused.stderr

        anvil.warp(anvil.now() + 1)  # a later observation: the newest one counts
        push_attestation(anvil, url, agreement, 0, 8_600)  # 50% + 600/1200 of the other 50%: 75 of 100 ETH
        accepted = as_party("provider", "accept-partial", pk, "1", "--yes")
        assert accepted.returncode == 0, accepted.stderr
        assert "accepting pays 75 ETH now, holds back 0 ETH, refunds 35 ETH to the client" in accepted.stderr
        deadline = time.monotonic() + 120
        while not status().startswith("active (settled"):
            assert time.monotonic() < deadline, status()
            time.sleep(1)

        assert as_party("client", "dispute", pk, "2").returncode == 0
        resolved = as_party("arbiter", "resolve", pk, "2", "60%")
        assert resolved.returncode == 0, resolved.stderr
        assert "[2] accuracy milestone 1: resolved" in resolved.stdout
        wrong = as_party("arbiter", "resolve", pk, "9", "60%")
        assert wrong.returncode == 2 and "has milestones 1 to 3; there is no 9" in wrong.stderr

        anvil.warp(agreement["milestones"][2]["deadline"] + 7 * DAY + 1)
        reclaimed = as_party("client", "reclaim", pk, "3")
        assert reclaimed.returncode == 0, reclaimed.stderr
        assert status() == "completed (settled, resolved, reclaimed)"
        listed = as_party("client", "list")
        assert f"{pk}  completed" in listed.stdout and "Fraud model in production" in listed.stdout
