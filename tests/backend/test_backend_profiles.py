"""Party profiles: only the wallet's own signature over the exact fields saves a version; versions are
kept; counterparties, auditors and operators read them, strangers do not; malformed ids are refused
with the field's name."""

from __future__ import annotations

import time

from backend_support import OPERATOR_KEY
from eth_account import Account
from factories import agreement_body

FIELDS = {
    "legal_name": "Nordlicht AI GmbH",
    "street": "Alexanderplatz 1",
    "city": "Berlin",
    "postcode": "10178",
    "country": "DE",
    "vat_id": "DE 136 695 976",
    "registration_id": "HRB 123456",
    "email": "billing@nordlicht.example",
    "iban": "DE89 3704 0044 0532 0130 00",
}


def _save(api, party, session, fields=FIELDS, version=1, signer=None, **changes):
    body = {"fields": fields, "version": version, "signed_at": int(time.time()), **changes}
    prepared = api.client.post("/v1/profiles/typed-data", json=body, headers=session)
    if prepared.status_code != 200:
        return prepared
    signature = Account.sign_typed_data((signer or party).key, full_message=prepared.json()).signature
    return api.client.post("/v1/profiles", json={**body, "signature": "0x" + signature.hex()}, headers=session)


def test_a_wallet_signs_each_version_and_the_history_is_kept(api):
    provider = api.sign_in(api.chain.provider)
    first = _save(api, api.chain.provider, provider)
    assert first.status_code == 201, first.text
    assert first.json()["fields"]["vat_id"] == "DE136695976"  # normalised before it was signed
    assert first.json()["fields"]["iban"] == "DE89370400440532013000"
    moved = _save(api, api.chain.provider, provider, {**FIELDS, "street": "Unter den Linden 5"}, version=2)
    assert moved.status_code == 201, moved.text
    versions = api.client.get(f"/v1/profiles/{api.chain.provider.address}", headers=provider).json()
    assert [(v["version"], v["fields"]["street"]) for v in versions] == [
        (1, "Alexanderplatz 1"),
        (2, "Unter den Linden 5"),
    ]


def test_nobody_else_can_sign_a_wallets_profile(api):
    provider = api.sign_in(api.chain.provider)
    forged = _save(api, api.chain.provider, provider, signer=api.chain.client)
    assert forged.status_code == 422 and "not by" in forged.json()["detail"]
    assert api.client.get(f"/v1/profiles/{api.chain.provider.address}", headers=provider).status_code == 404


def test_a_stale_version_is_a_conflict(api):
    provider = api.sign_in(api.chain.provider)
    assert _save(api, api.chain.provider, provider).status_code == 201
    again = _save(api, api.chain.provider, provider)
    assert again.status_code == 409 and "version must be 2" in again.json()["detail"]


def test_malformed_ids_are_refused_naming_the_field(api):
    provider = api.sign_in(api.chain.provider)
    bad_vat = _save(api, api.chain.provider, provider, {**FIELDS, "vat_id": "DE123456789"})
    assert bad_vat.status_code == 422 and "vat_id" in bad_vat.json()["detail"]
    bad_iban = _save(api, api.chain.provider, provider, {**FIELDS, "iban": "DE00370400440532013000"})
    assert bad_iban.status_code == 422 and "iban" in bad_iban.json()["detail"]


def test_counterparties_auditors_and_operators_read_a_profile_strangers_do_not(api):
    provider = api.sign_in(api.chain.provider)
    assert _save(api, api.chain.provider, provider).status_code == 201
    path = f"/v1/profiles/{api.chain.provider.address}"
    stranger = api.sign_in(api.chain.oracles[0])
    assert api.client.get(path, headers=stranger).status_code == 403
    client = api.sign_in(api.chain.client)
    assert api.client.get(path, headers=client).status_code == 403  # no agreement together yet
    assert api.client.post("/v1/agreements", json=agreement_body(api.chain), headers=client).status_code == 201
    assert api.client.get(path, headers=client).status_code == 200
    assert api.client.get(path, headers=api.api_key("audit", "auditor")).status_code == 200
    assert api.client.get(path, headers={"X-API-Key": OPERATOR_KEY}).status_code == 200
