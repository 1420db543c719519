"""Who may do what: Sign-In with Ethereum (single-use nonce, domain, chain, expiry), API keys with
roles, per-agreement parties, rate limits, and refused input that leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from backend_support import OPERATOR_KEY, Api
from eth_account import Account
from factories import agreement_body
from siwe import SiweMessage

from backend.client import sign_in_message


def sign_in_response(api: Api, party, **message_changes):
    nonce = api.client.post("/v1/auth/nonce").json()["nonce"]
    message = api.siwe_message(party.address, nonce, **message_changes)
    return api.client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": api.personal_sign(party.key, message)}
    )


def test_without_a_session_or_key_nothing_is_readable(api):
    assert api.client.get("/v1/agreements").status_code == 401
    assert api.client.get("/v1/agreements", headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.client.get("/v1/agreements", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert api.client.get("/v1/agreements", headers={"X-API-Key": "ap_unknown"}).status_code == 401
    assert api.client.get("/healthz").json()["status"] == "ok"


def test_a_signed_in_wallet_is_who_it_signed_as(api):
    response = sign_in_response(api, api.chain.client)
    assert response.status_code == 200 and response.json()["address"] == api.chain.client.address
    me = api.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {response.json()['token']}"}).json()
    assert me == {"role": "wallet", "address": api.chain.client.address, "name": None}


def test_an_expired_message_is_refused(api):
    response = sign_in_response(api, api.chain.client, expires_in=-1)
    assert response.status_code == 401 and "ExpiredMessage" in response.json()["detail"]


def test_a_replayed_message_is_refused(api):
    nonce = api.client.post("/v1/auth/nonce").json()["nonce"]
    message = api.siwe_message(api.chain.client.address, nonce)
    body = {"message": message, "signature": api.personal_sign(api.chain.client.key, message)}
    assert api.client.post("/v1/auth/sign-in", json=body).status_code == 200
    replay = api.client.post("/v1/auth/sign-in", json=body)
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]


def test_a_message_for_another_domain_or_chain_is_refused(api):
    domain = sign_in_response(api, api.chain.client, domain="attestpay.evil")
    assert domain.status_code == 401 and "attestpay.evil" in domain.json()["detail"]
    chain = sign_in_response(api, api.chain.client, chain_id=1)
    assert chain.status_code == 401 and "chain 1" in chain.json()["detail"]


def test_a_nonce_the_server_never_issued_or_a_foreign_signature_is_refused(api):
    party = api.chain.client
    message = api.siwe_message(party.address, "abcdef0123456789abcdef")
    invented = api.client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": api.personal_sign(party.key, message)}
    )
    assert invented.status_code == 401
    nonce = api.client.post("/v1/auth/nonce").json()["nonce"]
    message = api.siwe_message(party.address, nonce)
    forged = api.client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": api.personal_sign(api.chain.provider.key, message)}
    )
    assert forged.status_code == 401
    garbage = api.client.post("/v1/auth/sign-in", json={"message": "hello", "signature": "0x" + "00" * 65})
    assert garbage.status_code == 401 and "EIP-4361" in garbage.json()["detail"]
    # a refused attempt does not use up the nonce
    assert (
        api.client.post(
            "/v1/auth/sign-in", json={"message": message, "signature": api.personal_sign(party.key, message)}
        ).status_code
        == 200
    )


def test_another_partys_agreement_is_out_of_reach(api):
    chain = api.chain
    agreement, client, _ = api.consented(agreement_body(chain))
    pk = agreement["id"]
    stranger = api.sign_in(chain.relayer)
    for method, path in (
        ("get", f"/v1/agreements/{pk}"),
        ("get", f"/v1/agreements/{pk}/typed-data"),
        ("post", f"/v1/agreements/{pk}/cancel"),
        ("get", f"/v1/agreements/{pk}/audit-report"),
        ("post", f"/v1/agreements/{pk}/transactions/fund"),
        ("get", f"/v1/agreements/{pk}/milestones/0/preview?value=1&observed_at=1"),
    ):
        response = getattr(api.client, method)(path, headers=stranger)
        assert response.status_code == 403, (path, response.text)
    assert api.client.get("/v1/agreements", headers=stranger).json() == []
    # the arbiter reads but does not fund
    arbiter = api.sign_in(chain.arbiter)
    assert api.client.get(f"/v1/agreements/{pk}", headers=arbiter).status_code == 200
    assert api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=arbiter).status_code == 403
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "consented"


def test_service_keys_act_by_role(api):
    chain = api.chain
    agreement, _, _ = api.consented(agreement_body(chain))
    auditor, oracle = api.api_key("auditor-1", "auditor"), api.api_key("oracle-1", "oracle")
    assert [a["id"] for a in api.client.get("/v1/agreements", headers=auditor).json()] == [agreement["id"]]
    assert api.client.get(f"/v1/agreements/{agreement['id']}/audit-report", headers=auditor).status_code == 200
    assert api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=auditor).status_code == 403
    assert api.client.get(f"/v1/agreements/{agreement['id']}", headers=oracle).status_code == 403
    assert api.client.post("/v1/api-keys", json={"name": "x", "role": "operator"}, headers=auditor).status_code == 403
    duplicate = api.client.post(
        "/v1/api-keys", json={"name": "auditor-1", "role": "auditor"}, headers={"X-API-Key": OPERATOR_KEY}
    )
    assert duplicate.status_code == 409


def test_sign_ins_and_writes_are_rate_limited(chain, database_url, still_rate_window):
    api = Api(chain, database_url, sign_ins_per_minute=3, writes_per_minute=2)
    for _ in range(3):
        assert api.client.post("/v1/auth/nonce").status_code == 201
    limited = api.client.post("/v1/auth/nonce")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"] == "RateLimited"

    api = Api(chain, database_url, writes_per_minute=2)
    client = api.sign_in(chain.client)
    body = agreement_body(chain)
    assert [api.client.post("/v1/agreements", json=body, headers=client).status_code for _ in range(3)] == [
        201,
        201,
        429,
    ]
    assert api.client.get("/v1/agreements", headers=client).status_code == 200  # reads are not writes
    assert len(api.client.get("/v1/agreements", headers=client).json()) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"threshold": 4}, "threshold"),
        ({"provider": "CLIENT"}, "provider"),
        ({"arbiter": "CLIENT"}, "arbiter"),
        ({"milestone": {"target": "7000"}}, "milestones.0.target"),
        ({"milestone": {"deadline": 1}}, "milestones.0.deadline"),
        ({"milestone": {"stretch": "9200"}}, "milestones.0.stretch"),
        ({"milestone": {"amount": "0"}}, "milestones.0.amount"),
    ],
)
def test_terms_the_escrow_would_refuse_are_refused_with_the_field_and_nothing_is_kept(api, change, field):
    chain = api.chain
    client = api.sign_in(chain.client)
    body = agreement_body(chain)
    for key, value in change.items():
        if key == "milestone":
            body["milestones"][0] |= value
        else:
            body[key] = chain.client.address if value == "CLIENT" else value
    response = api.client.post("/v1/agreements", json=body, headers=client)
    assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert api.client.get("/v1/agreements", headers=client).json() == []


def test_malformed_requests_are_422_with_the_location(api):
    client = api.sign_in(api.chain.client)
    body = agreement_body(api.chain)
    body["milestones"][0]["amount"] = "12.5"
    response = api.client.post("/v1/agreements", json=body, headers=client)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "milestones", 0, "amount"]
    assert api.client.post("/v1/agreements", json=body | {"surprise": 1}, headers=client).status_code == 422
    assert api.client.get("/v1/agreements", headers=client).json() == []


def test_a_consent_must_be_the_callers_own_signature_over_these_terms(api):
    chain = api.chain
    client, provider = api.sign_in(chain.client), api.sign_in(chain.provider)
    pk = api.client.post("/v1/agreements", json=agreement_body(chain), headers=client).json()["id"]
    early = api.client.post(f"/v1/agreements/{pk}/consents", json={"signature": "0x" + "11" * 65}, headers=client)
    assert early.status_code == 409  # still a draft
    api.client.post(f"/v1/agreements/{pk}/propose", headers=client)
    data = api.client.get(f"/v1/agreements/{pk}/typed-data", headers=client).json()
    by_provider = "0x" + Account.sign_typed_data(chain.provider.key, full_message=data["typed_data"]).signature.hex()
    refused = api.client.post(f"/v1/agreements/{pk}/consents", json={"signature": by_provider}, headers=client)
    assert refused.status_code == 422 and refused.json()["field"] == "signature"
    assert (
        api.client.post(f"/v1/agreements/{pk}/consents", json={"signature": by_provider}, headers=provider).status_code
        == 201
    )
    edit = api.client.put(f"/v1/agreements/{pk}", json=agreement_body(chain), headers=client)
    assert edit.status_code == 409 and "only a draft can be edited" in edit.json()["detail"]
    assert api.client.get(f"/v1/agreements/{pk}", headers=client).json()["status"] == "proposed"


def test_a_wallets_sign_in_message_is_laid_out_as_the_siwe_package_writes_it():
    offer = {"domain": "attestpay.test", "uri": "https://attestpay.test", "chain_id": 31337, "nonce": "0123456789abcd"}
    address = Account.create().address
    issued = datetime(2026, 11, 29, 22, 0, 0, 123456, tzinfo=UTC)
    expected = SiweMessage(
        domain=offer["domain"],
        address=address,
        uri=offer["uri"],
        version="1",
        chain_id=offer["chain_id"],
        nonce=offer["nonce"],
        issued_at="2026-11-29T22:00:00.123456Z",
        statement="Sign in to AttestPay",
        expiration_time="2026-11-29T23:00:00.123456Z",
    ).prepare_message()
    assert sign_in_message(offer, address, issued, issued + timedelta(hours=1)) == expected
