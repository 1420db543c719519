"""Encrypted keystores (eth-account v3 JSON, scrypt) for people's wallets and services' keys: write,
open, and the password from a file, an environment variable or a prompt. Every failure is a
KeystoreError whose message says what to do."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_utils import to_checksum_address


class KeystoreError(Exception):
    """A keystore that cannot be read, written or opened; the message names the fix."""


def read_password(file: Path | None, env: str, prompt: Callable[[], str] | None = None) -> str:
    """The first line of `file`, else the variable `env`, else `prompt()` (a person at a terminal)."""
    if file is not None:
        try:
            lines = Path(file).read_text().splitlines()
        except OSError as exc:
            raise KeystoreError(f"cannot read the password file {file}: {exc.strerror}") from None
        return lines[0] if lines else ""
    if env in os.environ:
        return os.environ[env]
    if prompt is None:
        raise KeystoreError(f"no keystore password: give --password-file or set {env}")
    return prompt()


def open_keystore(path: Path, password: str) -> bytes:
    """The private key in the keystore at `path`."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise KeystoreError(f"cannot read the keystore {path}: {exc.strerror}") from None
    except ValueError:
        raise KeystoreError(
            f"{path} is not a keystore (not JSON): give the file `attestpay wallet new` wrote"
        ) from None
    if not isinstance(document, dict) or "crypto" not in {k.lower() for k in document} or "version" not in document:
        raise KeystoreError(f"{path} is not an encrypted keystore (eth-account v3 JSON): give a wallet's keystore")
    try:
        return bytes(Account.decrypt(document, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise KeystoreError(
                f"wrong password for the keystore {path}: check the password file or variable, or retype it"
            ) from None
        raise KeystoreError(f"{path} is not a usable keystore ({exc}): give a wallet's keystore") from None
    except (KeyError, TypeError) as exc:
        raise KeystoreError(f"{path} is not a complete keystore (missing {exc}): give a wallet's keystore") from None


def write_keystore(path: Path, password: str, private_key: bytes | None = None, scrypt_n: int = 2**18) -> str:
    """A key (new, or `private_key`) encrypted with scrypt (cost `scrypt_n`, eth-account's default
    2^18 unless the key is public anyway) into a new owner-only file; its address."""
    path = Path(path)
    if path.exists():
        raise KeystoreError(f"{path} exists: refusing to overwrite a key; choose another path")
    if not password:
        raise KeystoreError("an empty password protects nothing: give a password")
    try:
        account = Account.from_key(private_key) if private_key is not None else Account.create()
    except ValueError:
        raise KeystoreError("that is not a private key: give 32 bytes of hex (64 hex digits)") from None
    document = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeystoreError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as out:
        json.dump(document, out)
    return account.address


def keystore_address(path: Path) -> str | None:
    """The address a keystore names in clear (eth-account writes it), without the password."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    address = document.get("address") if isinstance(document, dict) else None
    try:
        return to_checksum_address("0x" + address.removeprefix("0x")) if isinstance(address, str) else None
    except ValueError:
        return None
