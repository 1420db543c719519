"""Wallets as users hold them, end to end on anvil (Prague), through the API and on-chain: a real
Safe 1.4.1 (the official contracts from npm, deployed here) as client, and an EOA with a real
EIP-7702 delegation (a type-4 transaction) as provider. Every signature the API accepts is then
used on-chain, where the escrow accepts it too (the one party-signature rule), and the values in
typed data above 2^53 travel as decimal strings."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from backend_support import Api
from engine_support import engine_settings, relayer_keystore, turn_until, worker_for
from eth_abi import encode
from eth_account import Account
from eth_account.messages import defunct_hash_message
from eth_utils import keccak
from factories import agreement_body
from siwe import SiweMessage
from sqlalchemy import select
from web3 import Web3

from attestpay import typed_data
from attestpay.contracts import deploy
from attestpay.devchain import Party, dev_party
from backend.db.models import RelayIntent

ROOT = Path(__file__).resolve().parents[2]
SAFE_ARTIFACTS = ROOT / "node_modules/@safe-global/safe-contracts/build/artifacts/contracts"
BIG = 10**18  # metric values with 18 decimals: every one above 2^53


def _artifact(path: str) -> dict:
    return json.loads((SAFE_ARTIFACTS / path).read_text())


def _deploy_artifact(w3: Web3, path: str, sender: str):
    artifact = _artifact(path)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": sender}))
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def _send(w3: Web3, party: Party, tx: dict) -> dict:
    fields = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(party.address),
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
        "value": 0,
        "data": "0x",
        "gas": 3_000_000,
    } | tx
    signed = Account.sign_transaction(fields, party.key)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1, receipt
    return receipt


class SafeWallet:
    """A Safe of three owners, threshold two, answering ERC-1271 through the CompatibilityFallbackHandler."""

    def __init__(self, w3: Web3, owners: list[Party], executor: Party) -> None:
        deployer = dev_party(0).address
        singleton = _deploy_artifact(w3, "Safe.sol/Safe.json", deployer)
        factory = _deploy_artifact(w3, "proxies/SafeProxyFactory.sol/SafeProxyFactory.json", deployer)
        self.handler = _deploy_artifact(
            w3, "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json", deployer
        )
        self.owners = sorted(owners, key=lambda o: int(o.address, 16))  # Safe wants signatures in this order
        setup = singleton.functions.setup(
            [o.address for o in self.owners],
            2,
            "0x" + "00" * 20,
            b"",
            self.handler.address,
            "0x" + "00" * 20,
            0,
            "0x" + "00" * 20,
        )._encode_transaction_data()
        self.w3, self.executor, self.factory = w3, executor, factory
        self.create_proxy = lambda salt: factory.functions.createProxyWithNonce(singleton.address, setup, salt)
        receipt = w3.eth.wait_for_transaction_receipt(self.create_proxy(1).transact({"from": deployer}))
        (created,) = factory.events.ProxyCreation().process_receipt(receipt)
        self.address = created.args.proxy
        self.safe = w3.eth.contract(address=self.address, abi=_artifact("Safe.sol/Safe.json")["abi"])

    def counterfactual_sign(self, salt: int, digest: bytes) -> tuple[str, str]:
        """The address of a Safe like this one not deployed yet, and its EIP-6492 signature of
        `digest`: the factory call that would deploy it, and two owners' signatures of its
        message hash (computed as the Safe would: its domain is chain id and address)."""
        address = self.create_proxy(salt).call()
        domain = keccak(
            encode(
                ["bytes32", "uint256", "address"],
                [keccak(text="EIP712Domain(uint256 chainId,address verifyingContract)"), self.w3.eth.chain_id, address],
            )
        )
        message = keccak(encode(["bytes32", "bytes32"], [keccak(text="SafeMessage(bytes message)"), keccak(digest)]))
        safe_hash = keccak(b"\x19\x01" + domain + message)
        inner = b"".join(typed_data.sign(o.key, safe_hash) for o in self.owners[:2])
        deployment = self.create_proxy(salt)._encode_transaction_data()
        wrapped = encode(["address", "bytes", "bytes"], [self.factory.address, bytes.fromhex(deployment[2:]), inner])
        return address, "0x" + (wrapped + bytes.fromhex("6492" * 16)).hex()

    def sign(self, digest: bytes, owners: int = 2) -> str:
        """The Safe's ERC-1271 signature of `digest`: `owners` owners sign the Safe's message hash."""
        message = self.handler.functions.getMessageHashForSafe(self.address, encode(["bytes32"], [digest])).call()
        return "0x" + b"".join(typed_data.sign(o.key, message) for o in self.owners[:owners]).hex()

    def execute(self, tx: dict) -> str:
        """Runs a transaction the API prepared for the Safe, signed by two owners; returns its hash."""
        to, value, data = tx["to"], int(tx["value"]), bytes.fromhex(tx["data"][2:])
        nonce = self.safe.functions.nonce().call()
        zero = "0x" + "00" * 20
        tx_hash = self.safe.functions.getTransactionHash(to, value, data, 0, 0, 0, 0, zero, zero, nonce).call()
        signatures = b"".join(typed_data.sign(o.key, tx_hash) for o in self.owners[:2])
        call = self.safe.functions.execTransaction(to, value, data, 0, 0, 0, 0, zero, zero, signatures)
        receipt = _send(self.w3, self.executor, {"to": self.address, "data": call._encode_transaction_data()})
        assert self.safe.events.ExecutionSuccess().process_receipt(receipt), "the Safe's inner call failed"
        return "0x" + bytes(receipt["transactionHash"]).hex()


def delegate_with_7702(w3: Web3, account: Party, delegate: str, sponsor: Party) -> None:
    """A real type-4 transaction: `account`'s key authorizes `delegate` as its code; `sponsor` sends it."""
    authorization = Account.sign_authorization(
        {"chainId": w3.eth.chain_id, "address": delegate, "nonce": w3.eth.get_transaction_count(account.address)},
        account.key,
    )
    _send(w3, sponsor, {"to": sponsor.address, "authorizationList": [authorization], "gas": 100_000})
    assert bytes(w3.eth.get_code(account.address)) == bytes.fromhex("ef0100") + bytes.fromhex(delegate[2:])


def delegate_answer(account: Party, digest: bytes) -> str:
    """What the ReplaySafeDelegate's ERC-1271 accepts: the key's signature of a hash naming the account."""
    replay_safe = keccak(
        encode(
            ["bytes32", "address", "bytes32"], [keccak(text="AttestPay.ReplaySafeDelegate"), account.address, digest]
        )
    )
    return "0x" + typed_data.sign(account.key, replay_safe).hex()


def sign_in(api: Api, address: str, sign) -> dict:
    """SIWE for any account: `sign(digest)` gives its signature of the EIP-191 hash of the message."""
    nonce = api.client.post("/v1/auth/nonce").json()["nonce"]
    issued = datetime.now(UTC)
    message = SiweMessage(
        domain="attestpay.test",
        address=address,
        uri="https://attestpay.test",
        version="1",
        chain_id=api.chain.chain_id,
        nonce=nonce,
        issued_at=issued.isoformat().replace("+00:00", "Z"),
        statement="Sign in to AttestPay",
        expiration_time=(issued + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
    ).prepare_message()
    response = api.client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": sign(defunct_hash_message(text=message))}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def record(api: Api, tx_hash: str, session: dict) -> None:
    response = api.client.post("/v1/transactions", json={"tx_hash": tx_hash}, headers=session)
    assert response.status_code == 201, response.text


@pytest.fixture
def sqlite_url(migrated_sqlite, tmp_path) -> str:
    path = tmp_path / "backend.db"
    shutil.copy(migrated_sqlite, path)
    return f"sqlite:///{path}"


def test_a_safe_client_and_a_7702_provider_agree_fund_approve_and_settle(anvil, sqlite_url, tmp_path):
    w3 = anvil.w3
    safe = SafeWallet(w3, [anvil.client, dev_party(4), dev_party(8)], executor=dev_party(4))
    _send(w3, dev_party(0), {"to": safe.address, "value": 1_000 * 10**18})
    delegate = deploy(w3, "ReplaySafeDelegate", sender=dev_party(0).address)
    provider = anvil.provider
    delegate_with_7702(w3, provider, delegate.address, sponsor=dev_party(4))
    api = Api(anvil, sqlite_url)

    # Sign-in: the Safe through ERC-1271 (its owners), the delegated EOA with its key.
    client_session = sign_in(api, safe.address, safe.sign)
    provider_session = sign_in(api, provider.address, lambda d: "0x" + typed_data.sign(provider.key, d).hex())

    body = agreement_body(anvil, client=safe.address, milestones=2)
    for m in body["milestones"]:  # metric values with 18 decimals, far above 2^53
        m |= {"floor": str(80 * BIG), "target": str(92 * BIG), "stretch": str(96 * BIG)}
    body["milestones"][0]["requires_client_approval"] = True
    created = api.client.post("/v1/agreements", json=body, headers=client_session)
    assert created.status_code == 201, created.text
    pk = created.json()["id"]
    assert api.client.post(f"/v1/agreements/{pk}/propose", headers=provider_session).status_code == 200

    typed = api.client.get(f"/v1/agreements/{pk}/typed-data", headers=client_session).json()
    assert typed["typed_data"]["domain"]["chainId"] == str(anvil.chain_id)  # integers as decimal strings
    digest = bytes.fromhex(typed["digest"][2:])
    one_owner = api.client.post(
        f"/v1/agreements/{pk}/consents", json={"signature": safe.sign(digest, owners=1)}, headers=client_session
    )
    assert one_owner.status_code == 422 and "ERC-1271" in one_owner.json()["detail"]  # below the Safe's threshold
    for signature, session in (
        (safe.sign(digest), client_session),
        (delegate_answer(provider, digest), provider_session),
    ):
        response = api.client.post(f"/v1/agreements/{pk}/consents", json={"signature": signature}, headers=session)
        assert response.status_code == 201, response.text
    assert response.json()["status"] == "consented"

    # The Safe funds: createAndFund carries the provider's ERC-1271 consent, which the escrow accepts.
    (funding,) = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client_session).json()[
        "transactions"
    ]
    record(api, safe.execute(funding), client_session)
    (approval,) = api.client.post(
        f"/v1/agreements/{pk}/transactions/approve", json={"index": 0}, headers=client_session
    ).json()["transactions"]
    record(api, safe.execute(approval), client_session)
    agreement = api.client.get(f"/v1/agreements/{pk}", headers=client_session).json()
    assert agreement["status"] == "active" and agreement["milestones"][0]["client_approved"]

    oracle_key = api.api_key("oracle-node", "oracle")
    reached = api.push(oracle_key, agreement, 0, 96 * BIG, anvil.oracles[:2])
    (settle,) = api.client.post(
        f"/v1/agreements/{pk}/transactions/settle",
        json={"index": 0, "attestation": reached["digest"]},
        headers=provider_session,
    ).json()["transactions"]
    before = w3.eth.get_balance(provider.address)
    receipt = _send(w3, dev_party(4), {"to": settle["to"], "data": settle["data"]})  # anyone may send it
    record(api, "0x" + bytes(receipt["transactionHash"]).hex(), provider_session)
    assert w3.eth.get_balance(provider.address) - before == 110 * 10**18

    # The delegated provider accepts a partial result through its delegate's ERC-1271; the relayer settles.
    partial_value = 86 * BIG + 1  # not a multiple of any power of two a double could keep
    partial = api.push(oracle_key, agreement, 1, partial_value, anvil.oracles[:2])
    path = f"/v1/agreements/{pk}/milestones/1/accept-partial"
    acceptance = api.client.get(path, params={"attestation": partial["digest"]}, headers=provider_session).json()
    assert acceptance["typed_data"]["message"]["value"] == str(partial_value)
    signature = delegate_answer(provider, bytes.fromhex(acceptance["digest"][2:]))
    queued = api.client.post(
        path, json={"attestation": partial["digest"], "signature": signature}, headers=provider_session
    )
    assert queued.status_code == 202, queued.text
    keystore, _ = relayer_keystore(tmp_path, anvil.relayer.key)
    worker = worker_for(api, **engine_settings(keystore))
    before = w3.eth.get_balance(provider.address)
    turn_until(worker, lambda: _intent_status(api, f"settle:{agreement['agreement_id']}:1") == "confirmed")
    earned = 100 * 10**18 * (5000 + 5000 * (partial_value - 80 * BIG) // (12 * BIG)) // 10_000
    assert w3.eth.get_balance(provider.address) - before == earned


def test_a_v_0_or_1_signature_is_read_as_27_or_28_by_the_api_and_the_escrow(anvil, sqlite_url):
    """As some hardware-wallet stacks return it; a signature by another key is refused with its signer named."""
    api = Api(anvil, sqlite_url)
    client_session, provider_session = api.sign_in(anvil.client), api.sign_in(anvil.provider)
    pk = api.client.post("/v1/agreements", json=agreement_body(anvil, milestones=1), headers=client_session).json()[
        "id"
    ]
    api.client.post(f"/v1/agreements/{pk}/propose", headers=client_session)
    digest = bytes.fromhex(
        api.client.get(f"/v1/agreements/{pk}/typed-data", headers=client_session).json()["digest"][2:]
    )

    other = "0x" + typed_data.sign(anvil.arbiter.key, digest).hex()
    refused = api.client.post(f"/v1/agreements/{pk}/consents", json={"signature": other}, headers=provider_session)
    assert refused.status_code == 422
    assert f"the signature is by {anvil.arbiter.address.lower()}" in refused.json()["detail"]

    for party, session in ((anvil.client, client_session), (anvil.provider, provider_session)):
        raw = typed_data.sign(party.key, digest)
        v01 = "0x" + (raw[:64] + bytes([raw[64] - 27])).hex()
        response = api.client.post(f"/v1/agreements/{pk}/consents", json={"signature": v01}, headers=session)
        assert response.status_code == 201, response.text
    prepared = api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client_session)
    api.send_all(anvil.client, prepared)  # createAndFund with the provider's v = 0/1 consent: accepted on-chain
    assert api.client.get(f"/v1/agreements/{pk}", headers=client_session).json()["status"] == "active"


def _intent_status(api: Api, prefix: str) -> str | None:
    with api.app.state.sessions() as session:
        intent = session.scalar(select(RelayIntent).where(RelayIntent.key.startswith(prefix)))
        return intent.status if intent else None


def test_a_client_funds_from_one_signature_in_its_own_transaction_or_gasless(anvil, sqlite_url, tmp_path):
    """EIP-2612: `fund-with-permit` is one transaction (no approval); `gasless-funding` is only the
    signature, and the relayer registers, funds and pays the gas."""
    w3 = anvil.w3
    token = deploy(w3, "PermitERC20", sender=dev_party(0).address)
    token.functions.mint(anvil.client.address, 10**24).transact({"from": dev_party(0).address})
    api = Api(anvil, sqlite_url)
    total = 2 * 110 * 10**18

    def consented_with_permit(salt_title: str) -> tuple[int, dict, dict]:
        agreement, client_session, _ = api.consented(agreement_body(anvil, token=token.address, title=salt_title))
        pk = agreement["id"]
        permit = api.client.get(f"/v1/agreements/{pk}/funding-permit", headers=client_session).json()
        assert permit["typed_data"]["message"]["value"] == str(total)  # a decimal string, exact in a browser
        signed = Account.sign_typed_data(anvil.client.key, full_message=permit["typed_data"]).signature
        return pk, client_session, {"deadline": permit["deadline"], "signature": "0x" + signed.hex()}

    pk, session, body = consented_with_permit("one transaction")
    prepared = api.client.post(f"/v1/agreements/{pk}/transactions/fund-with-permit", json=body, headers=session)
    assert len(prepared.json()["transactions"]) == 1, prepared.text  # no approval first
    api.send_all(anvil.client, prepared)
    assert api.client.get(f"/v1/agreements/{pk}", headers=session).json()["status"] == "active"
    assert token.functions.allowance(anvil.client.address, anvil.escrow.address).call() == 0

    pk, session, body = consented_with_permit("gasless")
    forged = body | {"signature": "0x" + typed_data.sign(anvil.provider.key, b"\x01" * 32).hex()}
    refused = api.client.post(f"/v1/agreements/{pk}/gasless-funding", json=forged, headers=session)
    assert refused.status_code == 422 and "with the key of the client" in refused.json()["detail"]
    nonce, ether = w3.eth.get_transaction_count(anvil.client.address), w3.eth.get_balance(anvil.client.address)
    queued = api.client.post(f"/v1/agreements/{pk}/gasless-funding", json=body, headers=session)
    assert queued.status_code == 202, queued.text
    keystore, _ = relayer_keystore(tmp_path, anvil.relayer.key)
    worker = worker_for(api, **engine_settings(keystore))
    turn_until(worker, lambda: api.client.get(f"/v1/agreements/{pk}", headers=session).json()["status"] == "active")
    assert token.functions.balanceOf(anvil.escrow.address).call() == 2 * total
    assert w3.eth.get_transaction_count(anvil.client.address) == nonce  # the client sent nothing
    assert w3.eth.get_balance(anvil.client.address) == ether  # and paid no gas


def test_a_safe_not_deployed_yet_signs_in_with_an_eip_6492_signature(anvil, sqlite_url):
    """Sign-in only: the deployment and the Safe's ERC-1271 answer are simulated, nothing is sent."""
    safe = SafeWallet(anvil.w3, [anvil.client, dev_party(4), dev_party(8)], executor=dev_party(4))
    api = Api(anvil, sqlite_url)
    address = safe.create_proxy(7).call()
    session = sign_in(api, address, lambda digest: safe.counterfactual_sign(7, digest)[1])
    assert api.client.get("/v1/auth/me", headers=session).json()["address"] == address
    assert anvil.w3.eth.get_code(address) == b""  # still not deployed

    other_safe = safe.create_proxy(8).call()  # the signature names another Safe's deployment
    nonce = api.client.post("/v1/auth/nonce").json()["nonce"]
    message = api.siwe_message(other_safe, nonce, domain="attestpay.test")
    wrong = api.client.post(
        "/v1/auth/sign-in",
        json={"message": message, "signature": safe.counterfactual_sign(7, defunct_hash_message(text=message))[1]},
    )
    assert wrong.status_code == 401 and "EIP-6492" in wrong.json()["detail"]
