"""`attestpay wallet new|import|address|list`: a person's keys as encrypted keystores in a wallet
directory (`--dir`, ATTESTPAY_WALLET_DIR, default ./wallets), one NAME.json per key. Passwords
come from --password-file, ATTESTPAY_WALLET_PASSWORD or a prompt; nothing is stored in clear."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from attestpay.keystore import KeystoreError, keystore_address, open_keystore, read_password, write_keystore
from attestpay_cli import Failed, Group

PASSWORD_ENV = "ATTESTPAY_WALLET_PASSWORD"
ADDRESS_BOOK = "addressbook.json"


def unlock(keystore: Path, password_file: Path | None) -> bytes:
    """The private key of `keystore`; its password from the file, the variable or a prompt."""
    try:
        return open_keystore(keystore, read_password(password_file, PASSWORD_ENV, _prompt))
    except KeystoreError as exc:
        raise Failed(str(exc)) from None


def names_in(directory: Path) -> dict[str, str]:
    """Name -> address: every keystore's file name in the wallet directory, and the entries of its
    address book (`addressbook.json`: {"name": "0x..."}) for people and oracles whose keys you do not hold."""
    names = {p.stem: a for p in sorted(directory.glob("*.json")) if (a := keystore_address(p))}
    book = directory / ADDRESS_BOOK
    if book.is_file():
        try:
            names |= {str(k): str(v) for k, v in json.loads(book.read_text()).items()}
        except (ValueError, AttributeError):
            raise Failed(f'{book} is not an address book: write {{"name": "0x...", ...}}') from None
    return names


def _prompt(confirm: bool = False) -> str:
    if not sys.stdin.isatty():
        raise Failed(f"no keystore password: give --password-file or set {PASSWORD_ENV}")
    return click.prompt("keystore password", hide_input=True, confirmation_prompt=confirm)


def _path(directory: Path, name: str) -> Path:
    """NAME in the wallet directory, or NAME itself when it is a path to a keystore."""
    given = Path(name)
    if given.suffix == ".json" or len(given.parts) > 1:
        return given
    return directory / f"{name}.json"


def wallet_dir_option(*names: str, about: str):
    """The wallet directory (ATTESTPAY_WALLET_DIR, default ./wallets) as an option called `names`."""
    return click.option(
        *names,
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("wallets"),
        show_default=True,
        envvar="ATTESTPAY_WALLET_DIR",
        help=about,
    )


_dir = wallet_dir_option("--dir", "directory", about="the wallet directory")
_password_file = click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"else {PASSWORD_ENV}, else a prompt",
)
_json = click.option("--json", "as_json", is_flag=True, help="print JSON")


@click.group(cls=Group)
def wallet() -> None:
    """Create, import and list encrypted keystores (your wallets)."""


def _write(directory: Path, name: str, password_file: Path | None, private_key: bytes | None, as_json: bool) -> None:
    path = _path(directory, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        address = write_keystore(path, read_password(password_file, PASSWORD_ENV, lambda: _prompt(True)), private_key)
    except KeystoreError as exc:
        raise Failed(str(exc)) from None
    click.echo(json.dumps({"name": path.stem, "address": address, "keystore": str(path)}) if as_json else address)
    if not as_json:
        click.echo(f"wrote {path} (encrypted; keep its password safe)", err=True)


@wallet.command()
@click.argument("name")
@_dir
@_password_file
@_json
def new(name: str, directory: Path, password_file: Path | None, as_json: bool) -> None:
    """Create a key and write it encrypted to DIR/NAME.json; prints its address."""
    _write(directory, name, password_file, None, as_json)


@wallet.command("import")
@click.argument("name")
@_dir
@_password_file
@_json
def import_(name: str, directory: Path, password_file: Path | None, as_json: bool) -> None:
    """Encrypt a private key (hex, read from standard input) into DIR/NAME.json."""
    text = sys.stdin.readline().strip() if not sys.stdin.isatty() else click.prompt("private key", hide_input=True)
    try:
        key = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise Failed("standard input is not a private key: give 64 hex digits") from None
    _write(directory, name, password_file, key, as_json)


@wallet.command()
@click.argument("name")
@_dir
def address(name: str, directory: Path) -> None:
    """The address of the keystore NAME (or a path), without its password."""
    path = _path(directory, name)
    found = keystore_address(path)
    if found is None:
        raise Failed(f"{path} is not a keystore with an address: see `attestpay wallet list`")
    click.echo(found)


@wallet.command("list")
@_dir
@_json
def list_(directory: Path, as_json: bool) -> None:
    """Every keystore in the wallet directory, with its address."""
    found = [(p.stem, a, str(p)) for p in sorted(directory.glob("*.json")) if (a := keystore_address(p))]
    if as_json:
        click.echo(json.dumps([{"name": n, "address": a, "keystore": p} for n, a, p in found]))
        return
    if not found:
        click.echo(f"no keystores in {directory}: `attestpay wallet new NAME` creates one", err=True)
    for name, addr, path in found:
        click.echo(f"{name:<16} {addr}  {path}")
