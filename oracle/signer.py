"""Oracle keys: an encrypted V3 keystore (password from a file or the environment), or a plain key
in development mode only. The key never appears in logs, errors or reprs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account

from attestpay import typed_data
from attestpay.keystore import KeystoreError, open_keystore
from attestpay.terms import Attestation
from oracle.errors import KeyUnavailable, OracleError


class OracleSigner:
    def __init__(self, private_key: bytes) -> None:
        self._key = private_key
        self.address = Account.from_key(private_key).address

    def __repr__(self) -> str:
        return f"OracleSigner({self.address})"

    def sign_attestation(self, attestation: Attestation, chain_id: int, escrow: str) -> bytes:
        return typed_data.sign(self._key, typed_data.attestation_digest(attestation, chain_id, escrow))

    def sign_digest(self, digest: bytes) -> bytes:
        """A signature over a digest already computed: an attestation's EIP-712 digest (the service
        signs what it measured, or co-signs another node's) or, to revoke it, the registry's check."""
        return typed_data.sign(self._key, digest)

    def sign_transaction(self, tx: dict) -> bytes:
        return bytes(Account.sign_transaction(tx, self._key).raw_transaction)

    @classmethod
    def from_keystore(cls, path: Path, password: str) -> OracleSigner:
        try:
            return cls(open_keystore(path, password))
        except KeystoreError as exc:
            raise KeyUnavailable(str(exc)) from None

    @classmethod
    def from_dev_key(cls, hex_key: str, *, dev_mode: bool) -> OracleSigner:
        if not dev_mode:
            raise KeyUnavailable("a plain private key is accepted only in development mode; use a keystore")
        return cls(bytes.fromhex(hex_key.removeprefix("0x")))


def create_keystore(path: Path, password: str, private_key: bytes | None = None) -> str:
    """A key (new, or `private_key`), written encrypted (scrypt) with owner-only permissions;
    returns its address."""
    account = Account.from_key(private_key) if private_key is not None else Account.create()
    keystore = Account.encrypt(account.key, password, kdf="scrypt")
    path = Path(path)
    path.write_text(json.dumps(keystore))
    os.chmod(path, 0o600)
    return account.address


def read_password(file: Path | None = None, env: str = "ORACLE_KEYSTORE_PASSWORD") -> str:
    """The keystore password from a file (first line) or the environment."""
    if file is not None:
        return Path(file).read_text().splitlines()[0]
    if env in os.environ:
        return os.environ[env]
    raise KeyUnavailable(f"no keystore password: give a password file or set {env}")


def send_transaction(w3, signer: OracleSigner, call) -> dict:
    """Send a contract call from the oracle's own account (anchor, revoke) and wait for its receipt."""
    tx = call.build_transaction({"from": signer.address, "nonce": w3.eth.get_transaction_count(signer.address)})
    raw = signer.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    if receipt["status"] != 1:
        raise OracleError(f"{call.fn_name} reverted in transaction 0x{receipt['transactionHash'].hex()}")
    return receipt
