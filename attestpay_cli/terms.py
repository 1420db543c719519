"""`attestpay terms check FILE` and `attestpay terms schema`: a terms file validated (its JSON
Schema, its amounts, dates and metric specs) and told back in words, with what each milestone pays
at its floor, target and stretch (`attestpay.payout`, the contract's formula)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import click
from pydantic import ValidationError

from attestpay import payout
from attestpay.terms_file import Deal, MilestoneDeal, TermsError, load_terms, schema
from attestpay.tokens import format_amount
from attestpay_cli import Failed, Group
from oracle.spec import MetricSpec


@click.group(cls=Group)
def terms() -> None:
    """Check a terms file and tell the deal back in words; print its JSON Schema."""


@terms.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the deal with base units and the payouts as JSON")
def check(file: Path, as_json: bool) -> None:
    """Validate FILE and print the deal in words, with the payout at floor, target and stretch."""
    deal = read(file)
    if as_json:
        click.echo(json.dumps(as_document(deal), indent=2))
    else:
        click.echo("\n".join(in_words(deal)))
        click.echo(f"{file}: valid", err=True)


@terms.command("schema")
def schema_() -> None:
    """The terms file's JSON Schema (also docs/terms.schema.json and GET /v1/terms/schema)."""
    click.echo(json.dumps(schema(), indent=2))


def read(file: Path, now: int | None = None, tokens=None) -> Deal:
    """The deal of a terms file, its metric specs checked as the oracle will read them."""
    try:
        deal = load_terms(file, now=now, tokens=tokens)
    except TermsError as exc:
        raise Failed(f"{file}: {exc}") from None
    for number, m in enumerate(deal.milestones, 1):
        try:
            MetricSpec.model_validate(m.spec)
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(str(p) for p in e["loc"]) or "(spec)"
            raise Failed(f"{file}: milestone {number} metric: {where}: {e['msg']} (see docs/oracle.md)") from None
    return deal


def date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours = rest // 3_600
    return " ".join(p for p in (f"{days}d" if days else "", f"{hours}h" if hours else "") if p) or f"{seconds}s"


def metric_value(value: int, m: MilestoneDeal) -> str:
    return f"{Decimal(value).scaleb(-m.decimals):f} {m.spec.get('unit', '')}".strip()


def percent(bps: int) -> str:
    return f"{bps / 100:g}%"


def outcomes(m: MilestoneDeal) -> list[tuple[str, int, payout.Payout]]:
    """What the milestone pays when measured on time at its floor, target and stretch."""
    marks = ([("floor", m.floor)] if m.floor != m.target else []) + [("target", m.target)]
    marks += [("stretch", m.stretch)] if m.stretch != m.target else []
    return [(name, value, payout.compute(m.struct(), value, m.deadline)) for name, value in marks]


VAT_CATEGORIES = {  # EN 16931 VAT category codes (docs/finance.md, "VAT")
    "S": "standard rated",
    "AE": "reverse charge: the client accounts for the VAT",
    "O": "outside the scope of EU VAT",
}


def _vat_in_words(vat: dict | None) -> str:
    if not vat:
        return "from the parties' profiles at each invoice (reverse charge across EU borders, else the seller's rate)"
    if vat["category"] == "S":
        rate = f" at {vat['rate']}%" if "rate" in vat else " at the seller's standard rate"
    else:
        rate = ""
    return f"{vat['category']}, {VAT_CATEGORIES[vat['category']]}{rate}, as agreed in these terms"


def in_words(deal: Deal) -> list[str]:
    token = deal.token
    total, bonus = sum(m.amount for m in deal.milestones), sum(m.bonus for m in deal.milestones)
    lines = [
        f'"{deal.title}": {_who(deal.client, "client")} pays {_who(deal.provider, "provider")} in {token.symbol}',
        f"  {format_amount(total, token)} in {len(deal.milestones)} milestones"
        + (f", plus bonuses up to {format_amount(bonus, token)}" if bonus else ""),
        f"  {deal.threshold} of {len(deal.oracles)} oracles must sign a measurement: {', '.join(deal.oracles)}",
        f"  arbiter: {deal.arbiter}" if deal.arbiter else "  no arbiter: only both parties together resolve a dispute",
        f"  cure window {duration(deal.cure_window)}: the client may reclaim a milestone that long after its deadline",
        f"  VAT: {_vat_in_words(deal.vat)}",
    ]
    for number, m in enumerate(deal.milestones, 1):
        direction = "higher" if m.higher_is_better else "lower"
        lines += [
            f" [{number}] {m.title}",
            f"     {format_amount(m.amount, token)}"
            + (f" + bonus up to {format_amount(m.bonus, token)}" if m.bonus else "")
            + f", due {date(m.deadline)}"
            + (", needs the client's approval" if m.requires_client_approval else ""),
            f"     metric: {m.spec.get('name')} ({m.spec.get('unit')}, {direction} is better), "
            f"{m.spec.get('aggregation', 'latest')} of a {m.spec['source'].get('kind')} source",
        ]
        for name, value, p in outcomes(m):
            held = f", {format_amount(p.holdback, token)} held back" if p.holdback else ""
            lines.append(
                f"     at {name} {metric_value(value, m)}: pays {format_amount(p.net, token)} "
                f"({percent(p.earned_bps)} earned"
                f"{held}), refunds {format_amount(p.refund, token)}"
            )
        if m.late_penalty_bps_per_day:
            lines.append(
                f"     late: {percent(m.late_penalty_bps_per_day)} a started day, at most "
                f"{percent(m.max_late_penalty_bps)}"
            )
        if m.holdback_bps:
            lines.append(f"     holdback {percent(m.holdback_bps)} for {duration(m.holdback_period)} after settlement")
    return lines


def _who(name: str, role: str) -> str:
    return role if name.lower() == role else f"{name} ({role})"


def as_document(deal: Deal) -> dict:
    """The deal with exact base units beside the display values (milestones numbered from 1 in
    `number`, `index` from 0 as the API and the contract count)."""
    token = deal.token
    return {
        "title": deal.title,
        "token": {"symbol": token.symbol, "decimals": token.decimals, "address": token.address},
        "milestones": [
            {
                "number": i + 1,
                "index": i,
                "title": m.title,
                "amount": str(m.amount),
                "amountDisplay": format_amount(m.amount, token),
                "deadline": m.deadline,
                "deadlineDisplay": date(m.deadline),
                "payouts": {
                    name: {"value": value, "net": str(p.net), "netDisplay": format_amount(p.net, token)}
                    for name, value, p in outcomes(m)
                },
            }
            for i, m in enumerate(deal.milestones)
        ],
    }
