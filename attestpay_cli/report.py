"""`attestpay report ...`: the backend's reports for a party (wallet keystore) or a service (API
key, e.g. an auditor's): an agreement's audit trail, portfolio analytics, invoices."""

from __future__ import annotations

import json
from pathlib import Path

import click

from attestpay_cli import Failed, Group
from attestpay_cli.agreement import Caller, party_of
from attestpay_cli.pack import audit_pack


def caller_options(command):
    """The options that say who calls: the API's URL, and an API key or a wallet keystore."""
    for option in reversed(
        (
            click.option(
                "--api",
                default="http://127.0.0.1:8000",
                show_default=True,
                envvar="ATTESTPAY_API",
                help="the backend's URL",
            ),
            click.option("--api-key", envvar="ATTESTPAY_API_KEY", help="a service's API key (auditor, operator)"),
            click.option(
                "--keystore",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                envvar="ATTESTPAY_WALLET_KEYSTORE",
                help="or your wallet's encrypted keystore",
            ),
            click.option(
                "--password-file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="else ATTESTPAY_WALLET_PASSWORD, else a prompt",
            ),
            click.option("--json", "as_json", is_flag=True, help="print the answer as JSON"),
        )
    ):
        command = option(command)
    return command


def caller_group(name: str, doc: str) -> click.Group:
    """A command group run by a party (wallet keystore) or a service (API key), with `doc` as its help:
    the caller is opened on first use (`ctx.obj["open"]`), `--json` kept in `ctx.obj["json"]`."""

    @click.pass_context
    def group(ctx: click.Context, api: str, api_key: str | None, keystore: Path | None, password_file, as_json):
        ctx.obj = {"open": lambda: Caller(api, keystore, password_file, api_key), "json": as_json}

    group.__doc__ = doc
    return click.group(name, cls=Group)(caller_options(group))


report = caller_group(
    "report", "Reports from the backend: an agreement's audit trail, the portfolio, invoices, journals."
)
report.add_command(audit_pack)


@report.command("agreement")
@click.argument("pk", type=int)
@click.pass_context
def agreement_report(ctx: click.Context, pk: int) -> None:
    """Terms, consents, attestations and every chain event with its transaction, in order."""
    body = party_of(ctx).call("GET", f"/v1/agreements/{pk}/audit-report")
    if ctx.obj["json"]:
        click.echo(json.dumps(body, indent=2))
        return
    a = body["agreement"]
    click.echo(f'agreement {a["id"]} "{a["title"]}": {a["status"]} ({len(body["attestations"])} attestations)')
    for e in body["events"]:
        index = f" milestone {int(e['args']['index']) + 1}" if "index" in e["args"] else ""
        click.echo(f"  block {e['block_number']:>8}  {e['name']}{index}  {e['tx_hash']}")
    if body["invoices"]:
        click.echo(f"  invoices: {', '.join(body['invoices'])}")


@report.command()
@click.pass_context
def portfolio(ctx: click.Context) -> None:
    """Completion and on-time rates, lateness, achievement, funds at risk, cash-flow projection."""
    body = party_of(ctx).call("GET", "/v1/reports/portfolio")
    if ctx.obj["json"]:
        click.echo(json.dumps(body, indent=2))
        return
    for key, value in body.items():
        if not isinstance(value, (dict, list)):
            click.echo(f"{key.replace('_', ' '):>28}: {value}")
    for amount in body["funds_at_risk_display"].values():
        click.echo(f"{'funds at risk':>28}: {amount}")


@report.command()
@click.argument("number")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="write the printable PDF here")
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path), help="write the printable HTML here")
@click.pass_context
def invoice(ctx: click.Context, number: str, pdf: Path | None, html: Path | None) -> None:
    """An invoice (AP-3C44CDDD-000001, ...): its lines, or its printable document."""
    party = party_of(ctx)
    for path, kind in ((pdf, "pdf"), (html, "html")):
        if path is not None:
            path.write_bytes(party.document(f"/v1/invoices/{number}/{kind}"))
            click.echo(f"wrote {path}")
    if pdf or html:
        return
    body = party.call("GET", f"/v1/invoices/{number}")
    if ctx.obj["json"]:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(
        f"invoice {body['number']} ({body['kind']} of milestone {body['milestone_number']}), "
        f"total {body['total_display']}"
    )
    for line in body["lines"]:
        click.echo(f"  {'+' if line['effect'] == 'add' else '-'} {line['amount_display']:>24}  {line['item']}")


JOURNAL_FORMATS = {"xero": "xero", "qbo": "quickbooks", "json": "json"}  # --format -> the API's name


@report.command()
@click.option("--party", help="whose journal, an address: auditors and operators name one; a wallet reads its own")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="first day (UTC), 2027-01-01")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="the day after the period (UTC)")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(JOURNAL_FORMATS)),
    default="xero",
    show_default=True,
    help="the CSV Xero or QuickBooks Online imports, or JSON with the period close",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write it here (default: print it)")
@click.pass_context
def journal(ctx: click.Context, party: str | None, start, end, fmt: str, out: Path | None) -> None:
    """A party's double-entry journal for a period (docs/finance.md)."""
    params = {"from": start.date().isoformat(), "to": end.date().isoformat(), "format": JOURNAL_FORMATS[fmt]}
    body = party_of(ctx).document("/v1/reports/journal", **params, **({"wallet": party} if party else {}))
    if out is None:
        click.echo(body.decode(), nl=False)
        return
    try:
        out.write_bytes(body)
    except OSError as exc:
        raise Failed(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"wrote {out}")
