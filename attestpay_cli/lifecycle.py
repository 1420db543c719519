"""`attestpay agreement ...` after consent, as the dashboard offers it: request release and watch it,
approve, accept a partial result (its payout shown first), dispute, resolve (the arbiter), reclaim,
release a holdback, amend a draft, withdraw credits, list. MILESTONE is numbered from 1, as people
count; the API's `index` is MILESTONE - 1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from eth_account import Account
from web3 import HTTPProvider, Web3

from attestpay.tokens import format_amount
from attestpay_cli import Failed
from attestpay_cli.agreement import Caller, api_body, party_of, show_agreement, token_of

FINAL_INTENT = {"confirmed", "failed", "superseded"}


def _index(number: int, body: dict) -> int:
    if not 1 <= number <= len(body["milestones"]):
        raise Failed(f"agreement {body['id']} has milestones 1 to {len(body['milestones'])}; there is no {number}")
    return number - 1


def _agreement(party: Caller, pk: int) -> dict:
    return party.call("GET", f"/v1/agreements/{pk}")


def _send(ctx: click.Context, pk: int, rpc: str, action: str, body: dict | None = None) -> None:
    """Sign and send from your wallet the transactions the API prepares for `action`."""
    party = party_of(ctx)
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60}))
    path = f"/v1/agreements/{pk}/transactions/{action}" if pk else f"/v1/transactions/{action}"
    try:
        with party.answered():
            hashes = party.api.act(w3, party.key, path, body)
    except (OSError, RuntimeError) as exc:  # the chain: unreachable, wrong, or the transaction reverted
        raise Failed(f"the {action} did not go through: {exc}") from None
    if not ctx.obj["json"]:
        click.echo("\n".join(f"sent {h}" for h in hashes))
    if pk:
        show_agreement(ctx, _agreement(party, pk))


_rpc = click.option(
    "--rpc", required=True, envvar="ATTESTPAY_RPC_URL", help="the chain's JSON-RPC URL, to send from your wallet"
)
_pk = click.argument("pk", type=int)
_milestone = click.argument("milestone", type=int)


def _milestone_transaction(action: str, doc: str) -> click.Command:
    """The command `action PK MILESTONE --rpc URL`, with `doc` as its help: sends from your wallet the
    one transaction `action` for that milestone, as the API prepares it."""

    @click.pass_context
    def command(ctx: click.Context, pk: int, milestone: int, rpc: str) -> None:
        _send(ctx, pk, rpc, action, {"index": _index(milestone, _agreement(party_of(ctx), pk))})

    command.__doc__ = doc
    return click.command(action)(_pk(_milestone(_rpc(command))))


@click.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Your agreements: id, status, title."""
    party = party_of(ctx)
    found = party.call("GET", "/v1/agreements")
    if ctx.obj["json"]:
        click.echo(json.dumps(found, indent=2))
        return
    for a in found:
        click.echo(f"{a['id']:>5}  {a['status']:<10}  {a['title']}")


@click.command("request-release")
@_pk
@_milestone
@click.option(
    "--wait", type=float, default=60, show_default=True, help="seconds to watch the milestone afterwards (0: do not)"
)
@click.pass_context
def request_release(ctx: click.Context, pk: int, milestone: int, wait: float) -> None:
    """Ask the oracle nodes to measure MILESTONE now (the provider), then watch it settle."""
    party = party_of(ctx)
    index = _index(milestone, _agreement(party, pk))
    answer = party.call("POST", f"/v1/agreements/{pk}/milestones/{index}/request-release")
    answer = _follow(party, answer, wait)
    if ctx.obj["json"]:
        click.echo(json.dumps(answer, indent=2))
    else:
        click.echo(f"  release request {answer['id']}: {answer['status']} (round {answer['round']})")
        for node in answer["answers"]:
            value = f"measured {node['value']}, signed" if node["status"] == "signed" else node["status"]
            detail = f": {node['detail']}" if node.get("detail") and node["status"] != "signed" else ""
            click.echo(f"  oracle {node['node']}: {value}{detail}")
    if wait > 0:
        _watch(ctx, pk, index, wait)


def _follow(party: Caller, answer: dict, wait: float) -> dict:
    """The release request (answered 202 at once): followed at GET /v1/release-requests/{id} while the
    nodes measure, until it is agreed, disagree or failed, or `wait` passes."""
    deadline = time.monotonic() + wait
    while answer["status"] == "measuring" and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = party.call("GET", f"/v1/release-requests/{answer['id']}")
    return answer


def _watch(ctx: click.Context, pk: int, index: int, wait: float) -> None:
    """Print each change of the milestone's status until it leaves `open` or `wait` passes."""
    party, seen, deadline = party_of(ctx), None, time.monotonic() + wait
    while time.monotonic() < deadline:
        m = _agreement(party, pk)["milestones"][index]
        state = (m["status"], m["client_approved"], m["holdback_status"])
        if state != seen:
            seen = state
            if not ctx.obj["json"]:
                approval = (
                    ", waiting for the client's approval"
                    if m["requires_client_approval"] and not m["client_approved"] and m["status"] == "open"
                    else ""
                )
                click.echo(f"  milestone {index + 1}: {m['status']}{approval}")
        if m["status"] != "open":
            return
        time.sleep(0.5)
    if not ctx.obj["json"]:
        click.echo(
            f"  milestone {index + 1} is still open after {wait:g}s: `attestpay agreement status {pk}` follows it"
        )


approve = _milestone_transaction(
    "approve", "Approve the delivery of MILESTONE (the client, for milestones that need it)."
)


@click.command("accept-partial")
@_pk
@_milestone
@click.option("--yes", is_flag=True, help="accept without asking")
@click.pass_context
def accept_partial(ctx: click.Context, pk: int, milestone: int, yes: bool) -> None:
    """Accept the latest below-target result of MILESTONE (the provider): shows what it pays, then signs."""
    party = party_of(ctx)
    body = _agreement(party, pk)
    index = _index(milestone, body)
    measured = [
        a
        for a in party.call("GET", f"/v1/agreements/{pk}/attestations")
        if a["milestone_index"] == index and a["complete"]
    ]
    if not measured:
        raise Failed(
            f"milestone {milestone} has no signed measurement yet: `attestpay agreement request-release {pk} "
            f"{milestone}` first"
        )
    latest = sorted(measured, key=lambda a: a["observed_at"])[-1]  # the newest observation, as the dashboard takes it
    figures = party.call(
        "GET",
        f"/v1/agreements/{pk}/milestones/{index}/preview",
        params={"value": latest["value"], "observed_at": latest["observed_at"]},
    )
    token = token_of(party, body["token"])
    m = body["milestones"][index]
    click.echo(
        f"milestone {milestone} measured {latest['value']} (target {m['target']}, floor {m['floor']}): "
        "accepting pays "
        f"{format_amount(int(figures['paid_now']), token)} now, holds back "
        f"{format_amount(int(figures['holdback']), token)}, "
        f"refunds {format_amount(int(figures['refund']), token)} to the client",
        err=True,
    )
    if int(figures["net"]) == 0:
        click.echo("WARNING: the result is below the floor: accepting pays the provider nothing", err=True)
    if not yes and not click.confirm("sign the partial acceptance?", err=True):
        raise Failed("not accepted")
    data = party.call(
        "GET", f"/v1/agreements/{pk}/milestones/{index}/accept-partial", params={"attestation": latest["digest"]}
    )
    signature = "0x" + Account.sign_typed_data(party.key, full_message=data["typed_data"]).signature.hex()
    intent = party.call(
        "POST",
        f"/v1/agreements/{pk}/milestones/{index}/accept-partial",
        json={"attestation": latest["digest"], "signature": signature},
    )
    click.echo(
        json.dumps(intent, indent=2) if ctx.obj["json"] else f"accepted: the relayer settles it ({intent['status']})"
    )


dispute = _milestone_transaction(
    "dispute", "Freeze MILESTONE (or, once settled, its holdback) until the arbiter or both parties split it."
)


@click.command()
@_pk
@_milestone
@click.argument("provider_share", metavar="PROVIDER_SHARE%")
@_rpc
@click.option("--holdback", is_flag=True, help="the dispute is over the holdback")
@click.pass_context
def resolve(ctx: click.Context, pk: int, milestone: int, provider_share: str, rpc: str, holdback: bool) -> None:
    """Split a disputed MILESTONE: PROVIDER_SHARE% (e.g. 60%) to the provider, the rest to the client (the arbiter)."""
    try:
        bps = round(float(provider_share.rstrip("%")) * 100)
    except ValueError:
        raise Failed(f"{provider_share} is not a share: write e.g. 60%") from None
    if not 0 <= bps <= 10_000:
        raise Failed(f"{provider_share} is not between 0% and 100%")
    index = _index(milestone, _agreement(party_of(ctx), pk))
    _send(ctx, pk, rpc, "resolve-dispute", {"index": index, "provider_share_bps": bps, "holdback": holdback})


reclaim = _milestone_transaction(
    "reclaim", "Take back MILESTONE's amount and bonus after its deadline and cure window (the client)."
)
release_holdback = _milestone_transaction(
    "release-holdback", "Pay MILESTONE's holdback to the provider once its warranty is over (anyone)."
)


@click.command()
@_pk
@click.argument("terms", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def amend(ctx: click.Context, pk: int, terms: Path) -> None:
    """Rewrite a draft's terms from a terms file (before it is proposed)."""
    show_agreement(
        ctx,
        party_of(ctx).call(
            "PUT",
            f"/v1/agreements/{pk}",
            json=api_body(party_of(ctx), terms, ctx.obj["wallets"], ctx.obj["deployment"]),
        ),
    )


@click.command()
@_rpc
@click.option("--token", help="the ERC-20 whose credit to withdraw (default: ether)")
@click.option("--to", "to", help="where to send it (default: your address)")
@click.pass_context
def withdraw(ctx: click.Context, rpc: str, token: str | None, to: str | None) -> None:
    """Withdraw what the escrow credited to you (a payment it could not push)."""
    _send(ctx, 0, rpc, "withdraw", {"token": token, "to": to})


COMMANDS = (
    list_,
    request_release,
    approve,
    accept_partial,
    dispute,
    resolve,
    reclaim,
    release_holdback,
    amend,
    withdraw,
)
