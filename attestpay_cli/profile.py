"""`attestpay profile show|set`: the legal identity invoices name for a wallet (attestpay.profiles). A
change is a new version the wallet signs (EIP-712), checked here against the fields asked for before
signing, so the backend cannot have the wallet sign anything else."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, fields

import click
from eth_account import Account

from attestpay import profiles
from attestpay_cli import Failed
from attestpay_cli.agreement import Caller, party_of
from attestpay_cli.report import caller_group
from attestpay_cli.terms import date
from backend.client import ApiError

FIELDS = [f.name for f in fields(profiles.PartyProfile)]


profile = caller_group(
    "profile", "Your party profile on invoices: legal name, address, VAT and registration ids, e-mail, IBAN."
)


_scope = click.option(
    "--agreement-id",
    "scope",
    default=profiles.ZERO_SCOPE,
    help="the profile for this agreement only (its 0x… id on chain); default: your default profile",
)


def versions(party: Caller, wallet: str, scope: str) -> list[dict]:
    """Every version of the wallet's profile, oldest first; none yet is an empty list."""
    with party.answered():
        try:
            return party.api.request("GET", f"/v1/profiles/{wallet}", headers=party.headers(), params={"scope": scope})
        except ApiError as exc:
            if exc.status != 404:
                raise
    return []


@profile.command()
@click.argument("wallet", required=False)
@_scope
@click.option("--history", is_flag=True, help="every version, oldest first")
@click.pass_context
def show(ctx: click.Context, wallet: str | None, scope: str, history: bool) -> None:
    """Your profile (or WALLET's: a counterparty's, or any for an auditor), as invoices name it."""
    party = party_of(ctx)
    if wallet is None:
        if party.key is None:
            raise Failed("name the WALLET whose profile to show (a service key has no profile)")
        wallet = Account.from_key(party.key).address
    found = versions(party, wallet, scope)
    shown = found if history else found[-1:]
    if ctx.obj["json"]:
        click.echo(json.dumps(shown, indent=2))
        return
    if not found:
        raise Failed(f"{wallet} has no profile yet: `attestpay profile set` signs one")
    for version in shown:
        f = version["fields"]
        click.echo(f"version {version['version']}, signed {date(version['signed_at'])} by {version['wallet']}")
        click.echo(f"  {f['legal_name']}, {f['street']}, {f['postcode']} {f['city']}, {f['country']}")
        for name in ("vat_id", "registration_id", "email", "iban"):
            if f[name]:
                click.echo(f"  {name.replace('_', ' ')}: {f[name]}")


def _field_options(command):
    for name in reversed(FIELDS):
        command = click.option(f"--{name.replace('_', '-')}", name, help="unchanged when not given")(command)
    return command


@profile.command("set")
@_field_options
@_scope
@click.pass_context
def set_(ctx: click.Context, scope: str, **given: str | None) -> None:
    """Sign and store a new version of your profile: the fields given, the others as they are now.
    VAT ids are checked (EU check digits, with the country prefix: DE123456788), IBANs by checksum."""
    party = party_of(ctx)
    if party.key is None:
        raise Failed("a profile is signed by its wallet: give --keystore, not --api-key")
    wallet = Account.from_key(party.key).address
    found = versions(party, wallet, scope)
    current = found[-1]["fields"] if found else {}
    try:
        wanted = profiles.PartyProfile(
            **{n: v if v is not None else current.get(n, "") for n, v in given.items()}
        ).check()
    except profiles.InvalidProfile as exc:
        first = "" if found else " (a first profile names legal name, street, city, postcode and country)"
        raise Failed(f"{exc}{first}") from None
    version, signed_at = (found[-1]["version"] + 1 if found else 1), int(time.time())
    body = {"fields": asdict(wanted), "scope": scope, "version": version, "signed_at": signed_at}
    prepared = party.call("POST", "/v1/profiles/typed-data", json=body)
    chain_id = int(prepared["domain"]["chainId"])
    if prepared != profiles.typed_data(wanted, wallet, scope, version, signed_at, chain_id):
        raise Failed("the backend prepared another message than the profile asked for: nothing signed")
    signature = Account.sign_typed_data(party.key, full_message=prepared).signature
    saved = party.call("POST", "/v1/profiles", json=body | {"signature": "0x" + signature.hex()})
    if ctx.obj["json"]:
        click.echo(json.dumps(saved, indent=2))
    else:
        click.echo(f"signed version {saved['version']} of the profile of {wallet}: {saved['fields']['legal_name']}")
