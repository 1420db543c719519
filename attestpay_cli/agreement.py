"""`attestpay agreement ...`: a party's side of an agreement through the backend's API, signed
with the party's own key (an encrypted keystore): create from a terms file, propose, consent,
fund from the wallet, show its status."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import click
import httpx
from eth_account import Account
from web3 import HTTPProvider, Web3

from attestpay_cli import Failed
from backend.client import ApiError, BackendClient


class Caller:
    """The caller: the backend's URL and either a wallet key (from an encrypted keystore, signing
    in with Ethereum) or a service's API key."""

    def __init__(self, api: str, keystore: Path | None, password_file: Path | None, api_key: str | None = None) -> None:
        self.api, self.key, self.api_key = BackendClient(api), None, api_key
        if api_key is None and keystore is None:
            raise Failed("give --keystore (a wallet) or --api-key (a service)")
        if api_key is None:
            password = (
                password_file.read_text().splitlines()[0]
                if password_file
                else (os.environ.get("ATTESTPAY_WALLET_PASSWORD") or click.prompt("keystore password", hide_input=True))
            )
            try:
                self.key = "0x" + bytes(Account.decrypt(json.loads(keystore.read_text()), password)).hex()
            except (ValueError, KeyError) as exc:
                raise Failed(f"cannot open the keystore {keystore}: {exc}") from None

    def headers(self) -> dict:
        return {"X-API-Key": self.api_key} if self.api_key else self.api.wallet(self.key)

    @contextmanager
    def answered(self):
        """The API's refusal or silence as a Failed with its reason."""
        try:
            yield
        except ApiError as exc:
            raise Failed(str(exc)) from None
        except (OSError, httpx.HTTPError) as exc:
            raise Failed(f"the backend at {self.api.http.base_url} did not answer: {exc}") from None

    def call(self, method: str, path: str, **kwargs):
        with self.answered():
            return self.api.request(method, path, headers=self.headers(), **kwargs)

    def document(self, path: str) -> bytes:
        """A non-JSON answer (an HTML page, a PDF)."""
        with self.answered():
            response = self.api.http.get(path, headers=self.headers())
        if response.status_code >= 400:
            raise Failed(f"HTTP {response.status_code}: {response.json().get('detail', response.text)}")
        return response.content


@click.group()
@click.option(
    "--api", default="http://127.0.0.1:8000", show_default=True, envvar="ATTESTPAY_API", help="the backend's URL"
)
@click.option(
    "--keystore",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="ATTESTPAY_WALLET_KEYSTORE",
    help="your wallet's encrypted keystore",
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="else ATTESTPAY_WALLET_PASSWORD, else a prompt",
)
@click.option("--json", "as_json", is_flag=True, help="print the agreement as JSON")
@click.pass_context
def agreement(ctx: click.Context, api: str, keystore: Path, password_file: Path | None, as_json: bool) -> None:
    """Create, propose, consent to, fund and follow an agreement as one of its parties."""
    ctx.obj = {"open": lambda: Caller(api, keystore, password_file), "json": as_json}


def party_of(ctx: click.Context) -> Caller:
    """The caller, opened (keystore decrypted) on first use, so `--help` asks for no password."""
    if "party" not in ctx.obj:
        ctx.obj["party"] = ctx.obj["open"]()
    return ctx.obj["party"]


def _show(ctx: click.Context, body: dict) -> None:
    if ctx.obj["json"]:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f'agreement {body["id"]} "{body["title"]}": {body["status"]}')
    if body.get("agreement_id"):
        click.echo(f"  id on chain: {body['agreement_id']}")
    for m in body["milestones"]:
        click.echo(
            f"  milestone {m['index']} {m['title']}: {m['status']}, amount {m['amount']} + bonus {m['bonus']}, "
            f"target {m['target']} ({'higher' if m['higher_is_better'] else 'lower'} is better)"
        )


@agreement.command()
@click.argument("terms", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def create(ctx: click.Context, terms: Path) -> None:
    """Draft an agreement from a terms file (the JSON body of POST /v1/agreements)."""
    try:
        body = json.loads(terms.read_text())
    except ValueError as exc:
        raise Failed(f"{terms} is not JSON: {exc}") from None
    _show(ctx, party_of(ctx).call("POST", "/v1/agreements", json=body))


@agreement.command()
@click.argument("pk", type=int)
@click.pass_context
def propose(ctx: click.Context, pk: int) -> None:
    """Freeze the terms; the agreement id (their EIP-712 hash) is fixed from now on."""
    _show(ctx, party_of(ctx).call("POST", f"/v1/agreements/{pk}/propose"))


@agreement.command()
@click.argument("pk", type=int)
@click.pass_context
def consent(ctx: click.Context, pk: int) -> None:
    """Sign the proposed terms (EIP-712) with your key and hand the signature to the backend."""
    party = party_of(ctx)
    data = party.call("GET", f"/v1/agreements/{pk}/typed-data")
    signature = "0x" + Account.sign_typed_data(party.key, full_message=data["typed_data"]).signature.hex()
    _show(ctx, party.call("POST", f"/v1/agreements/{pk}/consents", json={"signature": signature}))


@agreement.command()
@click.argument("pk", type=int)
@click.option("--rpc", required=True, help="the chain's JSON-RPC URL, to send from your wallet")
@click.pass_context
def fund(ctx: click.Context, pk: int, rpc: str) -> None:
    """Fund the escrow from your wallet (the client): an ERC-20 approval first if needed."""
    party = party_of(ctx)
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60}))
    try:
        with party.answered():
            hashes = party.api.act(w3, party.key, f"/v1/agreements/{pk}/transactions/fund")
    except (OSError, RuntimeError) as exc:  # the chain: unreachable, or the transaction reverted
        raise Failed(f"the funding did not go through: {exc}") from None
    if not ctx.obj["json"]:
        click.echo("\n".join(f"sent {h}" for h in hashes))
    _show(ctx, party.call("GET", f"/v1/agreements/{pk}"))


@agreement.command()
@click.argument("pk", type=int)
@click.pass_context
def show(ctx: click.Context, pk: int) -> None:
    """The agreement, its milestones and their terms, as the backend knows them."""
    _show(ctx, party_of(ctx).call("GET", f"/v1/agreements/{pk}"))


@agreement.command()
@click.argument("pk", type=int)
@click.pass_context
def status(ctx: click.Context, pk: int) -> None:
    """One line: the agreement's status and each milestone's."""
    body = party_of(ctx).call("GET", f"/v1/agreements/{pk}")
    if ctx.obj["json"]:
        click.echo(json.dumps({"status": body["status"], "milestones": [m["status"] for m in body["milestones"]]}))
    else:
        click.echo(f"{body['status']} ({', '.join(m['status'] for m in body['milestones'])})")
