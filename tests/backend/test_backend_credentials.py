"""Credentials under attack and revocation: sign-out and key revocation hold at once on every
replica (two app instances on one database, no cache between them), the SIWE URI is checked,
a mistyped (wrong EIP-55 checksum) address is refused everywhere an address goes in, expired
nonces and sessions are purged by the worker, and the sign-in limit counts every try, keyed on
the connected peer unless it is a trusted proxy (the API served as `attestpay serve` serves it)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest
from backend_support import OPERATOR_KEY, Api, served_env
from factories import agreement_body
from process_support import serving
from sqlalchemy import func, select, update

from backend.db.models import SignInNonce, WalletSession, now
from backend.engine.purge import ExpiredCredentials

CLI = Path(sys.executable).parent / "attestpay"
ROOT = Path(__file__).resolve().parents[2]


def mistyped(address: str) -> str:
    """The address with the case of its first letter flipped: a wrong EIP-55 checksum."""
    i = next(i for i, c in enumerate(address) if c in "abcdefABCDEF" and i > 1)
    return address[:i] + address[i].swapcase() + address[i + 1 :]


@pytest.fixture
def replicas(chain, database_url) -> tuple[Api, Api]:
    return Api(chain, database_url), Api(chain, database_url)


def test_a_signed_out_session_is_refused_at_once_on_every_replica(replicas):
    a, b = replicas
    session = a.sign_in(a.chain.client)
    assert b.client.get("/v1/auth/me", headers=session).status_code == 200
    assert a.client.post("/v1/auth/sign-out", headers=session).status_code == 204
    for replica in (a, b):
        assert replica.client.get("/v1/auth/me", headers=session).status_code == 401
    assert a.client.post("/v1/auth/sign-out").status_code == 401


def test_a_session_past_its_expiry_is_refused_before_the_worker_purges_it(api):
    session = api.sign_in(api.chain.client)
    assert api.client.get("/v1/auth/me", headers=session).status_code == 200
    with api.app.state.sessions() as db, db.begin():
        db.execute(update(WalletSession).values(expires_at=now() - 1))
    response = api.client.get("/v1/auth/me", headers=session)
    assert response.status_code == 401 and "unknown or expired" in response.json()["detail"]


def test_operators_list_and_revoke_keys_and_the_revocation_holds_at_once_on_every_replica(replicas):
    a, b = replicas
    oracle = a.api_key("oracle-node", "oracle")
    assert b.client.get("/v1/auth/me", headers=oracle).json()["name"] == "oracle-node"  # b has seen the key
    operator = {"X-API-Key": OPERATOR_KEY}
    assert b.client.delete("/v1/api-keys/oracle-node", headers=oracle).status_code == 403  # not an operator
    assert a.client.delete("/v1/api-keys/oracle-node", headers=operator).status_code == 204
    for replica in (a, b):
        assert replica.client.get("/v1/auth/me", headers=oracle).status_code == 401
    listed = b.client.get("/v1/api-keys", headers=operator).json()
    assert [(k["name"], k["role"], k["revoked"]) for k in listed] == [("oracle-node", "oracle", True)]
    assert "key" not in listed[0]
    assert a.client.delete("/v1/api-keys/nobody", headers=operator).status_code == 404
    assert a.client.get("/v1/api-keys", headers=a.sign_in(a.chain.client)).status_code == 403


def test_a_siwe_message_for_another_uri_is_refused(api):
    nonce = api.client.post("/v1/auth/nonce").json()["nonce"]
    party = api.chain.client
    message = api.siwe_message(party.address, nonce).replace("URI: https://attestpay.test", "URI: https://evil.test")
    response = api.client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": api.personal_sign(party.key, message)}
    )
    assert response.status_code == 401 and "https://evil.test" in response.json()["detail"]


@pytest.mark.parametrize("field", ["client", "provider", "arbiter", "token", "oracles"])
def test_an_address_with_a_wrong_checksum_is_refused_and_all_lowercase_is_accepted(api, field):
    chain = api.chain
    client = api.sign_in(chain.client)
    body = agreement_body(chain)
    correct = {"arbiter": chain.arbiter.address, "token": chain.token.address}.get(field) or (
        body[field][0] if field == "oracles" else body[field]
    )

    def with_address(address: str) -> dict:
        return body | {field: [address, *body["oracles"][1:]] if field == "oracles" else address}

    refused = api.client.post("/v1/agreements", json=with_address(mistyped(correct)), headers=client)
    assert refused.status_code == 422, refused.text
    problem = refused.json()["detail"][0]
    assert problem["loc"][:2] == ["body", field] and f"did you mean {correct}" in problem["msg"]
    accepted = api.client.post("/v1/agreements", json=with_address(correct.lower()), headers=client)
    assert accepted.status_code == 201, accepted.text


def test_withdraw_and_intake_refuse_a_wrong_checksum(api):
    client = api.sign_in(api.chain.client)
    wrong = mistyped(api.chain.client.address)
    assert api.client.post("/v1/transactions/withdraw", json={"to": wrong}, headers=client).status_code == 422
    oracle = api.api_key("oracle-node", "oracle")
    push = {"attestation": {}, "signer": wrong, "signature": "0x" + "00" * 65}
    response = api.client.post("/v1/attestations", json=push, headers=oracle)
    assert response.status_code == 422 and any(p["loc"] == ["body", "signer"] for p in response.json()["detail"])


def test_the_worker_purges_expired_nonces_and_sessions(api):
    with api.app.state.sessions() as session, session.begin():
        session.add_all(
            [
                SignInNonce(nonce="expired", expires_at=now() - 1),
                SignInNonce(nonce="used-and-expired", expires_at=now() - 1, used_at=now() - 100),
                SignInNonce(nonce="fresh", expires_at=now() + 600),
                WalletSession(token_hash="a" * 64, address=api.chain.client.address, expires_at=now() - 1),
                WalletSession(token_hash="b" * 64, address=api.chain.client.address, expires_at=now() + 600),
            ]
        )
    purge = ExpiredCredentials(api.app.state.sessions)
    assert purge.step() == 3
    assert purge.step() == 0  # not due again for a minute
    with api.app.state.sessions() as session:
        assert session.scalars(select(SignInNonce.nonce)).all() == ["fresh"]
        assert session.scalar(select(func.count()).select_from(WalletSession)) == 1


def test_the_sign_in_limit_counts_malformed_tries(chain, database_url, still_rate_window):
    api = Api(chain, database_url, sign_ins_per_minute=3)
    for body in (b"{", b'{"message": NaN}', b"[" * 100):
        assert api.client.post("/v1/auth/sign-in", content=body).status_code in (400, 422)
    assert api.client.post("/v1/auth/nonce").status_code == 429


@pytest.mark.slow  # a served API process
@pytest.mark.parametrize("trusted", [None, '["127.0.0.1"]'])
def test_the_limit_keys_on_the_peer_unless_it_is_a_trusted_proxy(tmp_path, trusted):
    env = served_env(tmp_path, sign_ins_per_minute="3")
    if trusted:
        env["ATTESTPAY_TRUSTED_PROXIES"] = trusted
    command = [str(CLI), "serve", "--port", "{port}", "--workers", "0"]
    with serving(command, env, ROOT, tmp_path / "api.log") as (_, url):
        # The served API counts in one-minute windows of the monotonic clock, which every process
        # here shares: start with time to spare in the window, so that none ends between the requests.
        left = 60 - time.monotonic() % 60
        if left < 5:
            time.sleep(left + 0.1)
        statuses = [
            httpx.post(url + "/v1/auth/nonce", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(5)
        ]
        # Behind a trusted proxy the addresses it names are five clients; otherwise the header is
        # the client's own word and the one peer (127.0.0.1) made five tries.
        assert statuses == ([201] * 5 if trusted else [201, 201, 201, 429, 429])
        if trusted:
            spoofed = {"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}  # only the proxy's own entry counts
            assert httpx.post(url + "/v1/auth/nonce", headers=spoofed).status_code == 201
            assert httpx.post(url + "/v1/auth/nonce", headers=spoofed).status_code == 201
            assert httpx.post(url + "/v1/auth/nonce", headers=spoofed).status_code == 429
