"""Finance documents from the command line against the real API (SQLite) on anvil: the parties sign their
profiles with their keystores, list their invoices, download each in every format, and export their
journals for Xero and QuickBooks Online; mistakes are one line and exit 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess

from anvil_support import backend_on_anvil, party_keystores, push_attestation
from backend_support import OPERATOR_KEY
from cli_support import attestpay
from factories import agreement_body
from facturx import get_xml_from_pdf

from backend.client import BackendClient

PROVIDER = ("--legal-name", "Nordlicht AI GmbH", "--street", "Torstrasse 1", "--city", "Berlin", "--postcode", "10119")
CLIENT = ("--legal-name", "Lumen Retail SAS", "--street", "1 rue de Rivoli", "--city", "Paris", "--postcode", "75001")


def test_profiles_invoices_and_journals_from_the_command_line(anvil, tmp_path):
    prices = json.dumps({"ETH": {"peg": "2500", "currency": "EUR"}})
    with backend_on_anvil(anvil, tmp_path, worker=False, ATTESTPAY_PRICES=prices) as url:
        party_keystores(anvil, tmp_path, "pw", "client", "provider")
        client = BackendClient(url)
        auditor_key = client.request(
            "POST", "/v1/api-keys", json={"name": "audit-firm", "role": "auditor"}, headers={"X-API-Key": OPERATOR_KEY}
        )["key"]

        def run(group: str, who: str, *args: str) -> subprocess.CompletedProcess:
            caller = ("--api-key", auditor_key) if who == "auditor" else ("--keystore", f"{who}.json")
            result = attestpay(group, "--api", url, *caller, "--password-file", "password", *args, cwd=tmp_path)
            assert "Traceback" not in result.stderr, result.stderr
            return result

        # profiles, signed by each wallet's keystore; a change keeps the fields not named
        signed = run("profile", "provider", "set", *PROVIDER, "--country", "de", "--vat-id", "DE 136 695 976")
        assert signed.returncode == 0, signed.stderr
        assert (
            signed.stdout.strip() == f"signed version 1 of the profile of {anvil.provider.address}: Nordlicht AI GmbH"
        )
        changed = run("profile", "provider", "set", "--email", "billing@nordlicht.example")
        assert changed.returncode == 0 and "signed version 2" in changed.stdout, changed.stderr
        shown = run("profile", "provider", "show").stdout
        assert "version 2" in shown and "Torstrasse 1, 10119 Berlin, DE" in shown and "vat id: DE136695976" in shown
        assert "email: billing@nordlicht.example" in shown
        assert run("profile", "auditor", "show", anvil.provider.address, "--history").stdout.count("version ") == 2
        assert run("profile", "client", "set", *CLIENT, "--country", "FR", "--vat-id", "FR40303265045").returncode == 0
        for args, reason in (
            (("set", "--vat-id", "DE136695975"), "is not a valid EU VAT number"),
            (("set", "--iban", "DE00370400440532013000"), "is not a valid IBAN"),
        ):
            refused = run("profile", "provider", *args)
            assert refused.returncode == 2 and reason in refused.stderr and len(refused.stderr.splitlines()) == 1
        nobody = run("profile", "auditor", "set", "--email", "a@b.example")
        assert nobody.returncode == 2 and "give --keystore" in nobody.stderr

        # a settlement of milestone 1, and a dispute split of milestone 2: 60% to the provider
        agreement = client.consented_agreement(agreement_body(anvil), anvil.client.key, anvil.provider.key)
        pk = agreement["id"]
        client.act(anvil.w3, anvil.client.key, f"/v1/agreements/{pk}/transactions/fund")
        digest = push_attestation(anvil, url, agreement, 0, 9_700)
        path = f"/v1/agreements/{pk}/transactions/"
        client.act(anvil.w3, anvil.client.key, path + "settle", {"index": 0, "attestation": "0x" + digest.hex()})
        client.act(anvil.w3, anvil.client.key, path + "dispute", {"index": 1})
        client.act(
            anvil.w3,
            anvil.arbiter.key,
            path + "resolve-dispute",
            {"index": 1, "provider_share_bps": 6000, "holdback": False},
        )

        listed = run("invoice", "provider", "list")
        assert listed.returncode == 0, listed.stderr
        settlement, dispute = listed.stdout.strip().splitlines()
        number = settlement.split()[0]
        assert "Fraud model in production, milestone 1 (settlement): 110 ETH to the provider; invoice" in settlement
        assert "milestone 2 (dispute): 66 ETH to the provider; invoice (dispute split)" in dispute
        assert json.loads(run("invoice", "auditor", "--json", "list", "--agreement", str(pk)).stdout)[1][
            "total"
        ] == str(66 * 10**18)
        split = run("report", "client", "invoice", dispute.split()[0]).stdout
        assert "Dispute split: 60.00% to the provider (44 ETH back to the client)" in split  # units, not wei

        for fmt, out, starts, inside in (
            ("facturx", "inv.pdf", b"%PDF", b"/EmbeddedFiles"),
            ("ubl", "inv.ubl.xml", b"<?xml", b"Nordlicht AI GmbH"),
            ("cii", "inv.cii.xml", b"<?xml", b"CrossIndustryInvoice"),
            ("html", "inv.html", b"<!doctype html>", b"110 ETH"),
        ):
            written = run("invoice", "client", "download", number, "--format", fmt, "--out", out)
            assert written.returncode == 0 and written.stdout.strip() == f"wrote {out}", written.stderr
            document = (tmp_path / out).read_bytes()
            assert document.startswith(starts) and inside in document, fmt
        assert b"Nordlicht AI GmbH" in get_xml_from_pdf((tmp_path / "inv.pdf").read_bytes(), check_xsd=False)[1]
        named = run("invoice", "auditor", "download", number, "--format", "ubl")
        assert named.stdout.strip() == f"wrote {number}.ubl.xml" and (tmp_path / f"{number}.ubl.xml").is_file()
        missing = run("invoice", "client", "download", "AP-999999", "--format", "ubl")
        assert missing.returncode == 2 and "HTTP 4" in missing.stderr and len(missing.stderr.splitlines()) == 1

        period = ("--from", "2020-01-01", "--to", "2100-01-01")
        xero = run("report", "provider", "journal", *period, "--format", "xero", "--out", "xero.csv")
        assert xero.returncode == 0 and xero.stdout.strip() == "wrote xero.csv", xero.stderr
        rows = list(csv.DictReader(io.StringIO((tmp_path / "xero.csv").read_text())))
        assert rows and sum(float(r["*Amount"]) for r in rows) == 0  # debits positive, credits negative: balanced
        qbo = run("report", "auditor", "journal", "--party", anvil.client.address, *period, "--format", "qbo")
        assert qbo.returncode == 0 and qbo.stdout.startswith("Journal No,Journal Date,Currency"), qbo.stderr
        backwards = run("report", "provider", "journal", "--from", "2027-02-01", "--to", "2027-01-01")
        assert backwards.returncode == 2 and "'to' must be after 'from'" in backwards.stderr
        whose = run("report", "auditor", "journal", *period)
        assert whose.returncode == 2 and "auditors and operators name ?wallet=" in whose.stderr
