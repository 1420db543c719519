"""The party lifecycle after funding from the command line, on anvil with the API and a worker as
processes and the CLI in the test's process (cli_support): accept-partial shows what it pays first (and
warns below the floor), dispute and the arbiter's split, reclaim after deadline + cure window, list."""

from __future__ import annotations

import os
import re
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
        assert "[2] accuracy milestone 1: resolved" in resolved.stdout, resolved.stdout
        wrong = as_party("arbiter", "resolve", pk, "9", "60%")
        assert wrong.returncode == 2 and "has milestones 1 to 3; there is no 9" in wrong.stderr

        anvil.warp(agreement["milestones"][2]["deadline"] + 7 * DAY + 1)
        reclaimed = as_party("client", "reclaim", pk, "3")
        assert reclaimed.returncode == 0, reclaimed.stderr
        assert status() == "completed (settled, resolved, reclaimed)"
        listed = as_party("client", "list")
        assert f"{pk}  completed" in listed.stdout and "Fraud model in production" in listed.stdout


def test_approve_then_release_the_holdback_from_the_command_line(anvil, tmp_path):
    """A milestone that needs the client's approval and holds 10% back for a day: it waits for the
    client's `approve`, then settles; the provider's `release-holdback` is refused before the day and
    pays after it. The release runs against the API alone: a worker would release the holdback first."""
    party_keystores(anvil, tmp_path, "pw", "client", "provider")

    def as_party(url: str, name: str, *args: str) -> subprocess.CompletedProcess:
        command = ["agreement", "--api", url, "--keystore", f"{name}.json", "--password-file", "password"]
        return attestpay(*command, *args, cwd=tmp_path, env=os.environ | {"ATTESTPAY_RPC_URL": anvil.url})

    with backend_on_anvil(anvil, tmp_path) as url:
        body = agreement_body(anvil, milestones=1)
        body["milestones"][0] |= {"requires_client_approval": True, "holdback_bps": 1000, "holdback_period": DAY}
        client = BackendClient(url)
        agreement = client.consented_agreement(body, anvil.client.key, anvil.provider.key)
        pk = str(agreement["id"])
        assert as_party(url, "client", "fund", pk).returncode == 0
        agreement = client.request("GET", f"/v1/agreements/{pk}", headers=client.wallet(anvil.client.key))
        push_attestation(anvil, url, agreement, 0, 9_200)  # at target: 100 ETH, 10 of them held back
        assert as_party(url, "provider", "status", pk).stdout.strip() == "active (open)"  # awaiting approval

        approved = as_party(url, "client", "approve", pk, "1")
        assert approved.returncode == 0 and approved.stdout.startswith("sent 0x"), approved.stderr
        deadline = time.monotonic() + 120
        while (status := as_party(url, "provider", "status", pk).stdout.strip()) != "active (settled)":
            assert time.monotonic() < deadline, status
            time.sleep(1)

    with backend_on_anvil(anvil, tmp_path, worker=False) as url:
        early = as_party(url, "provider", "release-holdback", pk, "1")
        due = re.fullmatch(r"Error: HTTP 409: the holdback is due on \d{4}-\d\d-\d\d \d\d:\d\d UTC: .*\n", early.stderr)
        assert early.returncode == 2 and due, early.stderr
        anvil.warp(anvil.now() + DAY + 1)
        before = anvil.w3.eth.get_balance(anvil.provider.address)
        released = as_party(url, "provider", "release-holdback", pk, "1")
        assert released.returncode == 0 and released.stdout.startswith("sent 0x"), released.stderr
        gained = anvil.w3.eth.get_balance(anvil.provider.address) - before
        assert 10 * 10**18 - 10**16 < gained < 10 * 10**18  # the holdback, less the release's gas
