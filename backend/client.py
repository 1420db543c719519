"""A wallet's side of the backend's API over HTTP: sign in with Ethereum, create and consent to
agreements, sign and send the transactions the API prepares, push attestations. What a browser
wallet does, for scripts, benchmarks and the command line; the keys stay in the caller's hands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3


class ApiError(Exception):
    """The API answered 4xx or 5xx; the message is its reason."""

    def __init__(self, status: int, body: dict | str) -> None:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {_readable(detail)}")
        self.status, self.body = status, body


def _readable(detail) -> str:
    """FastAPI's list of validation errors as `field.path: reason; ...`; any other detail as is."""
    if not isinstance(detail, list) or not all(isinstance(e, dict) and "msg" in e for e in detail):
        return str(detail)
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e['msg']}" for e in detail
    )


class WrongChain(RuntimeError):
    """The wallet's node is another chain than the one the API prepared the transaction for."""


def refused_or(response: httpx.Response) -> httpx.Response:
    """The response, unless the API refused (4xx, 5xx): then an ApiError with its reason."""
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        raise ApiError(response.status_code, body)
    return response


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sign_in_message(offer: dict, address: str, issued: datetime, expires: datetime) -> str:
    """The EIP-4361 (Sign-In with Ethereum) message for the API's nonce offer, in the standard's
    layout. The API parses it with the `siwe` package; a wallet only writes it, and that package's
    grammar takes 0.6 s to import, which every command of the CLI would pay."""
    return "\n".join(
        (
            f"{offer['domain']} wants you to sign in with your Ethereum account:",
            address,
            "",
            "Sign in to AttestPay",
            "",
            f"URI: {offer['uri']}",
            "Version: 1",
            f"Chain ID: {offer['chain_id']}",
            f"Nonce: {offer['nonce']}",
            f"Issued At: {_timestamp(issued)}",
            f"Expiration Time: {_timestamp(expires)}",
        )
    )


class BackendClient:
    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.sessions: dict[str, dict] = {}  # address -> Authorization header

    def request(self, method: str, path: str, headers: dict | None = None, **kwargs) -> dict | list:
        response = refused_or(self.http.request(method, path, headers=headers, **kwargs))
        return response.json() if response.content else {}

    def wallet(self, key: str) -> dict:
        """The Authorization header of the key's wallet, signing in (SIWE) the first time."""
        account = Account.from_key(key)
        if account.address not in self.sessions:
            offer = self.request("POST", "/v1/auth/nonce")
            issued = datetime.now(UTC)
            message = sign_in_message(offer, account.address, issued, issued + timedelta(hours=1))
            signature = "0x" + Account.sign_message(encode_defunct(text=message), account.key).signature.hex()
            token = self.request("POST", "/v1/auth/sign-in", json={"message": message, "signature": signature})["token"]
            self.sessions[account.address] = {"Authorization": f"Bearer {token}"}
        return self.sessions[account.address]

    def consented_agreement(self, body: dict, client_key: str, provider_key: str) -> dict:
        """Drafts the agreement as the client, proposes it and has both parties sign the terms."""
        agreement = self.request("POST", "/v1/agreements", json=body, headers=self.wallet(client_key))
        pk = agreement["id"]
        self.request("POST", f"/v1/agreements/{pk}/propose", headers=self.wallet(client_key))
        for key in (client_key, provider_key):
            data = self.request("GET", f"/v1/agreements/{pk}/typed-data", headers=self.wallet(key))
            signature = "0x" + Account.sign_typed_data(key, full_message=data["typed_data"]).signature.hex()
            agreement = self.request(
                "POST", f"/v1/agreements/{pk}/consents", json={"signature": signature}, headers=self.wallet(key)
            )
        return agreement

    def act(self, w3: Web3, key: str, path: str, body: dict | None = None) -> list[str]:
        """Asks the API for the transactions of `path` (e.g. /v1/agreements/1/transactions/fund),
        signs and sends each from the key's wallet, and reports the mined ones; returns their hashes."""
        headers = self.wallet(key)
        prepared = self.request("POST", path, json=body, headers=headers)["transactions"]
        escrow = self.request("GET", "/healthz")["escrow"]
        hashes = []
        for tx in prepared:
            hashes.append(send(w3, key, tx))
            if tx["to"] == escrow:  # a token approval has nothing to record
                self.request("POST", "/v1/transactions", json={"tx_hash": hashes[-1]}, headers=headers)
        return hashes


def send(w3: Web3, key: str, tx: dict) -> str:
    """Signs a prepared transaction as a wallet would (its nonce, current fees) and waits for it."""
    account = Account.from_key(key)
    chain = w3.eth.chain_id
    if chain != tx["chainId"]:
        raise WrongChain(
            f"the node is chain {chain} but the backend's escrow is on chain {tx['chainId']}: "
            f"give --rpc of chain {tx['chainId']}"
        )
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    fields = {
        "to": tx["to"],
        "data": tx["data"],
        "value": int(tx["value"]),
        "chainId": tx["chainId"],
        "gas": tx["gas"] or 3_000_000,
        "nonce": w3.eth.get_transaction_count(account.address),
        "maxFeePerGas": 2 * base_fee + 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(fields).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.to_0x_hex()} reverted")
    return tx_hash.to_0x_hex()
