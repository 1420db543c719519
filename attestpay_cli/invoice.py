"""`attestpay invoice list|download`: the caller's invoices and credit notes (every one for an auditor's
key) and each in the formats a buyer's or an accountant's system reads (docs/finance.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from attestpay_cli import Failed
from attestpay_cli.agreement import Caller, party_of
from attestpay_cli.report import caller_group
from attestpay_cli.terms import date

FORMATS = {  # --format -> (the API's path, the file's extension)
    "facturx": ("facturx", "pdf"),
    "ubl": ("ubl", "ubl.xml"),
    "cii": ("cii", "cii.xml"),
    "html": ("html", "html"),
    "pdf": ("pdf", "plain.pdf"),
}


invoice = caller_group(
    "invoice", "Your invoices and credit notes, and their documents (Factur-X, UBL, CII, HTML, PDF)."
)


def invoices(party: Caller, pk: int | None = None) -> list[dict]:
    """The invoices of the caller's agreements (or of agreement `pk`), oldest first, each with what its
    e-invoice is (`document`)."""
    pks = [pk] if pk is not None else [a["id"] for a in party.call("GET", "/v1/agreements")]
    found = []
    for each in pks:
        of_agreement = [
            party.call("GET", f"/v1/invoices/{n}") for n in party.call("GET", f"/v1/agreements/{each}/invoices")
        ]
        settled = {i["milestone_index"] for i in of_agreement if i["kind"] == "settlement"}
        found += [i | {"document": document(i, settled)} for i in of_agreement]
    return sorted(found, key=lambda i: i["issued_at"])


def document(invoice: dict, settled: set[int]) -> str:
    """Which EN 16931 document the payment is (docs/finance.md, "Which payment produces which document")."""
    if invoice["kind"] == "settlement":
        return "invoice"
    if invoice["kind"] == "holdback":
        return "payment of the settlement invoice's amount due (HTML, PDF)"
    if invoice["milestone_index"] not in settled:
        return "invoice (dispute split)"
    if int(invoice["refund_to_client"]):
        return "credit note (holdback returned in a dispute split)"
    return "payment of the settlement invoice's amount due (HTML, PDF)"


@invoice.command("list")
@click.option("--agreement", "pk", type=int, help="only this agreement's (its number, as `agreement list` shows)")
@click.pass_context
def list_(ctx: click.Context, pk: int | None) -> None:
    """Every invoice of your agreements: number, date, agreement, milestone, amount, document."""
    found = invoices(party_of(ctx), pk)
    if ctx.obj["json"]:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no invoices yet: one is issued at each settlement, released holdback and dispute split")
    for i in found:
        click.echo(
            f"{i['number']}  {date(i['issued_at'])}  {i['agreement_title']}, milestone {i['milestone_number']} "
            f"({i['kind']}): {i['total_display']} to the provider; {i['document']}"
        )


@invoice.command()
@click.argument("number")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="facturx", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the file to write (default: the document's own name, in this directory)",
)
@click.pass_context
def download(ctx: click.Context, number: str, fmt: str, out: Path | None) -> None:
    """Write invoice NUMBER as Factur-X (PDF/A-3 with the CII XML inside), UBL 2.1, CII, HTML or PDF."""
    path, extension = FORMATS[fmt]
    response = party_of(ctx).fetch(f"/v1/invoices/{number}/{path}")
    named = re.search(r'filename="([^"/\\]+)"', response.headers.get("content-disposition", ""))
    out = out or Path(named.group(1) if named and fmt != "pdf" else f"{number}.{extension}")
    try:
        out.write_bytes(response.content)
    except OSError as exc:
        raise Failed(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"wrote {out}")
