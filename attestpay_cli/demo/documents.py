"""The demo's finance documents under `workdir/documents/`, fetched from the API as a finance team would:
every invoice as Factur-X PDF/A-3 and UBL XML (CII beside them), each party's journal as Xero and
QuickBooks CSV and as JSON with its period close, and each agreement's audit pack. The parties sign
realistic profiles first: a French client and a German provider (reverse charge across the border),
and for one agreement the client's German subsidiary (domestic German VAT)."""

from __future__ import annotations

import time
from pathlib import Path

from eth_account import Account

from attestpay_cli.demo.stage import DemoFailed, Stage, Wallet

PROVIDER = {
    "legal_name": "Nordlicht AI GmbH",
    "street": "Alexanderplatz 1",
    "city": "Berlin",
    "postcode": "10178",
    "country": "DE",
    "vat_id": "DE136695976",
    "registration_id": "HRB 123456 B",
    "email": "billing@nordlicht.example",
    "iban": "DE89370400440532013000",
}
CLIENT = {
    "legal_name": "Lumen Retail SAS",
    "street": "1 rue de Rivoli",
    "city": "Paris",
    "postcode": "75001",
    "country": "FR",
    "vat_id": "FR40303265045",
    "registration_id": "RCS Paris 303 265 045",
    "email": "accounts.payable@lumen.example",
}
CLIENT_DE = {
    "legal_name": "Lumen Retail Deutschland GmbH",
    "street": "Jungfernstieg 7",
    "city": "Hamburg",
    "postcode": "20354",
    "country": "DE",
    "vat_id": "DE811569869",
    "registration_id": "HRB 654321",
    "email": "kreditoren@lumen.example",
}
FORMATS = {"facturx": "pdf", "ubl": "ubl.xml", "cii": "cii.xml"}
JOURNALS = {"xero": "xero.csv", "quickbooks": "quickbooks.csv", "json": "json"}


def write(stage: Stage, agreement_pks: list[int], workdir: Path) -> dict:
    """Signs the profiles, then writes every document; returns what was written and what was not (and why)."""
    out = workdir / "documents"
    out.mkdir(parents=True, exist_ok=True)
    _profile(stage, stage.provider, PROVIDER)
    _profile(stage, stage.client, CLIENT)
    second = stage.agreement(agreement_pks[1])["agreement_id"]
    _profile(stage, stage.client, CLIENT_DE, scope=second)
    written, skipped = [], []
    for pk in agreement_pks:
        for number in stage.call(stage.client, "GET", f"/v1/agreements/{pk}/invoices"):
            for fmt, suffix in FORMATS.items():
                response = stage.api.http.get(
                    f"/v1/invoices/{number}/{fmt}", headers=stage.api.wallet(stage.client.key)
                )
                if response.status_code == 409:
                    skipped.append({"invoice": number, "reason": response.json()["detail"]})
                    break
                if response.status_code != 200:
                    raise DemoFailed(f"invoice {number} as {fmt}: HTTP {response.status_code} {response.text[:200]}")
                path = out / f"{number}.{suffix}"
                path.write_bytes(response.content)
                written.append(path.name)
    for pk in agreement_pks:  # the auditor's zip, as a party downloads it for its auditor
        response = stage.api.http.get(f"/v1/agreements/{pk}/audit-pack", headers=stage.api.wallet(stage.client.key))
        if response.status_code != 200:
            raise DemoFailed(f"agreement {pk}'s audit pack: HTTP {response.status_code} {response.text[:200]}")
        path = out / f"audit-pack-{stage.agreement(pk)['agreement_id'][:10]}.zip"
        path.write_bytes(response.content)
        written.append(path.name)
    for wallet in (stage.client, stage.provider):
        for fmt, suffix in JOURNALS.items():
            params = {"from": "2000-01-01", "to": "2100-01-01", "format": fmt}
            response = stage.api.http.get("/v1/reports/journal", params=params, headers=stage.api.wallet(wallet.key))
            if response.status_code != 200:
                raise DemoFailed(f"{wallet.name}'s journal as {fmt}: HTTP {response.status_code} {response.text[:200]}")
            path = out / f"journal-{wallet.name}.{suffix}"
            path.write_bytes(response.content)
            written.append(path.name)
    return {"directory": str(out), "written": written, "not_invoiced": skipped}


def _profile(stage: Stage, wallet: Wallet, fields: dict, scope: str = "0x" + "00" * 32) -> None:
    path = f"/v1/profiles/{wallet.address}"
    try:
        version = len(stage.call(wallet, "GET", path, params={"scope": scope})) + 1
    except DemoFailed:
        version = 1  # no profile yet
    body = {"fields": fields, "scope": scope, "version": version, "signed_at": int(time.time())}
    typed = stage.call(wallet, "POST", "/v1/profiles/typed-data", json=body)
    signature = "0x" + Account.sign_typed_data(wallet.key, full_message=typed).signature.hex()
    stage.call(wallet, "POST", "/v1/profiles", json={**body, "signature": signature})
