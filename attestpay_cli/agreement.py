"""`attestpay agreement ...`: a party's side of an agreement through the backend's API, signed
with the party's own key (an encrypted keystore): create from a terms file, propose, consent,
fund from the wallet, show its status."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import click
import httpx
from eth_account import Account
from web3 import HTTPProvider, Web3

from attestpay.terms_file import TermsError
from attestpay.tokens import AmountError, Token, TokenRegistry, format_amount
from attestpay_cli import Failed, Group
from attestpay_cli.terms import date, read as read_terms
from attestpay_cli.wallet import names_in, unlock, wallet_dir_option
from backend.client import ApiError, BackendClient, refused_or


class Caller:
    """The caller: the backend's URL and either a wallet key (from an encrypted keystore, signing
    in with Ethereum) or a service's API key."""

    def __init__(self, api: str, keystore: Path | None, password_file: Path | None, api_key: str | None = None) -> None:
        self.api, self.key, self.api_key = BackendClient(api), None, api_key
        if api_key is None and keystore is None:
            raise Failed("give --keystore (a wallet) or --api-key (a service)")
        if api_key is None:
            self.key = "0x" + unlock(keystore, password_file).hex()

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

    def document(self, path: str, **params) -> bytes:
        """A non-JSON answer (an HTML page, a PDF, XML, CSV)."""
        return self.fetch(path, **params).content

    def fetch(self, path: str, **params) -> httpx.Response:
        """The API's answer to a GET, refused (4xx, 5xx) as a Failed with the API's reason."""
        with self.answered():
            return refused_or(self.api.http.get(path, headers=self.headers(), params=params or None))


@click.group(cls=Group)
@click.option(
    "--api", default="http://127.0.0.1:8000", show_default=True, envvar="ATTESTPAY_API", help="the backend's URL"
)
@click.option(
    "--keystore",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="ATTESTPAY_WALLET_KEYSTORE",
    help="your wallet's encrypted keystore",
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="else ATTESTPAY_WALLET_PASSWORD, else a prompt",
)
@wallet_dir_option("--wallets", about="names in terms files: these keystores' names and addressbook.json")
@click.option(
    "--deployment",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("deployment.json"),
    show_default=True,
    envvar="ATTESTPAY_DEPLOYMENT_FILE",
    help="its development token (mUSD) is the one a terms file names by symbol",
)
@click.option("--json", "as_json", is_flag=True, help="print the agreement as JSON")
@click.pass_context
def agreement(
    ctx: click.Context,
    api: str,
    keystore: Path,
    password_file: Path | None,
    wallets: Path,
    deployment: Path,
    as_json: bool,
) -> None:
    """Create, propose, consent to, fund and follow an agreement as one of its parties."""
    ctx.obj = {
        "open": lambda: Caller(api, keystore, password_file),
        "json": as_json,
        "wallets": wallets,
        "deployment": deployment,
    }


def party_of(ctx: click.Context) -> Caller:
    """The caller, opened (keystore decrypted) on first use, so `--help` asks for no password."""
    if "party" not in ctx.obj:
        ctx.obj["party"] = ctx.obj["open"]()
    return ctx.obj["party"]


def show_agreement(ctx: click.Context, body: dict) -> None:
    if ctx.obj["json"]:
        click.echo(json.dumps(body, indent=2))
        return
    token = token_of(party_of(ctx), body["token"])
    click.echo(f'agreement {body["id"]} "{body["title"]}": {body["status"]}')
    if body.get("agreement_id"):
        click.echo(f"  id on chain: {body['agreement_id']}")
    for m in body["milestones"]:
        bonus = f" + bonus up to {format_amount(int(m['bonus']), token)}" if int(m["bonus"]) else ""
        click.echo(
            f"  [{m['index'] + 1}] {m['title']}: {m['status']}, {format_amount(int(m['amount']), token)}{bonus}, "
            f"due {date(m['deadline'])}"
        )


def token_of(party: Caller, address: str) -> Token:
    """The agreement token's symbol and decimals, as the backend's registry knows them."""
    return Token(**party.call("GET", f"/v1/tokens/{address}"))


@agreement.command()
@click.argument("terms", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def create(ctx: click.Context, terms: Path) -> None:
    """Draft an agreement from a terms file (docs/terms.md; `attestpay terms check` tells it back)."""
    party = party_of(ctx)
    show_agreement(
        ctx,
        party.call("POST", "/v1/agreements", json=api_body(party, terms, ctx.obj["wallets"], ctx.obj["deployment"])),
    )


def api_body(party: Caller, terms: Path, wallets: Path, deployment: Path) -> dict:
    """The body of POST /v1/agreements from a terms file: names from the wallet directory, a token
    named by symbol from the deployment's development token or ATTESTPAY_TOKENS. A file whose
    milestones carry a metric `spec` is that body already, sent as is."""
    try:
        document = json.loads(terms.read_text())
    except ValueError as exc:
        raise Failed(f"{terms} is not JSON: {exc}") from None
    milestones = document.get("milestones", []) if isinstance(document, dict) else []
    if any(isinstance(m, dict) and "spec" in m for m in milestones):
        return document
    try:
        tokens = TokenRegistry.configured()
        if deployment.is_file() and json.loads(deployment.read_text()).get("token"):
            tokens.add(token_of(party, json.loads(deployment.read_text())["token"]))
        return read_terms(terms, tokens=tokens).api_body(names_in(wallets), tokens)
    except (TermsError, AmountError) as exc:
        raise Failed(f"{terms}: {exc}") from None


@agreement.command()
@click.argument("pk", type=int)
@click.pass_context
def propose(ctx: click.Context, pk: int) -> None:
    """Freeze the terms; the agreement id (their EIP-712 hash) is fixed from now on."""
    show_agreement(ctx, party_of(ctx).call("POST", f"/v1/agreements/{pk}/propose"))


@agreement.command()
@click.argument("pk", type=int)
@click.pass_context
def consent(ctx: click.Context, pk: int) -> None:
    """Sign the proposed terms (EIP-712) with your key and hand the signature to the backend."""
    party = party_of(ctx)
    data = party.call("GET", f"/v1/agreements/{pk}/typed-data")
    signature = "0x" + Account.sign_typed_data(party.key, full_message=data["typed_data"]).signature.hex()
    show_agreement(ctx, party.call("POST", f"/v1/agreements/{pk}/consents", json={"signature": signature}))


@agreement.command()
@click.argument("pk", type=int)
@click.option(
    "--rpc",
    envvar="ATTESTPAY_RPC_URL",
    help="the chain's JSON-RPC URL, to send from your wallet (not needed with --gasless)",
)
@click.option("--permit", "with_permit", is_flag=True, help="sign an EIP-2612 permit: one transaction, no approval")
@click.option("--gasless", is_flag=True, help="sign an EIP-2612 permit only; the backend's relayer funds and pays gas")
@click.pass_context
def fund(ctx: click.Context, pk: int, rpc: str | None, with_permit: bool, gasless: bool) -> None:
    """Fund the escrow (the client): from your wallet (an ERC-20 approval first if needed, or one
    transaction with --permit), or with --gasless from one signature, the relayer paying the gas."""
    if with_permit and gasless:
        raise click.UsageError("choose --permit (your transaction) or --gasless (the relayer's), not both")
    if rpc is None and not gasless:
        raise click.UsageError("--rpc is needed to send from your wallet (or fund with --gasless)")
    party = party_of(ctx)
    body = None
    if with_permit or gasless:
        permit = party.call("GET", f"/v1/agreements/{pk}/funding-permit")
        signature = Account.sign_typed_data(party.key, full_message=permit["typed_data"]).signature
        body = {"deadline": permit["deadline"], "signature": "0x" + signature.hex()}
    if gasless:
        intent = party.call("POST", f"/v1/agreements/{pk}/gasless-funding", json=body)
        if not ctx.obj["json"]:
            click.echo(
                f"signed: the relayer registers and funds the escrow (intent {intent['id']}, {intent['status']})"
            )
        show_agreement(ctx, party.call("GET", f"/v1/agreements/{pk}"))
        return
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60}))
    path = f"/v1/agreements/{pk}/transactions/" + ("fund-with-permit" if with_permit else "fund")
    try:
        with party.answered():
            hashes = party.api.act(w3, party.key, path, body)
    except (OSError, RuntimeError) as exc:  # the chain: unreachable, or the transaction reverted
        raise Failed(f"the funding did not go through: {exc}") from None
    if not ctx.obj["json"]:
        click.echo("\n".join(f"sent {h}" for h in hashes))
    show_agreement(ctx, party.call("GET", f"/v1/agreements/{pk}"))


@agreement.command()
@click.argument("pk", type=int)
@click.pass_context
def show(ctx: click.Context, pk: int) -> None:
    """The agreement, its milestones and their terms, as the backend knows them."""
    show_agreement(ctx, party_of(ctx).call("GET", f"/v1/agreements/{pk}"))


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
