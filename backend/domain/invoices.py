"""Invoices: line items from the settlement figures, and the same document as JSON, printable
HTML and PDF. Pure: values in, documents out. Amounts are kept in the token's base units, exactly
as the escrow paid them, with the token units a person reads beside them (`for_people`)."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, select_autoescape

from attestpay.terms import Payout
from attestpay.tokens import Token, format_amount


def settlement_lines(p: Payout, paid_now: int) -> list[dict]:
    lines = [{"item": f"Base payment ({p.earned_bps / 100:.2f}% earned)", "amount": p.base, "effect": "add"}]
    if p.bonus_earned:
        lines.append({"item": "Performance bonus", "amount": p.bonus_earned, "effect": "add"})
    if p.penalty:
        lines.append({"item": f"Late penalty ({p.penalty_bps / 100:.2f}%)", "amount": p.penalty, "effect": "deduct"})
    if p.holdback:
        lines.append({"item": "Holdback retained until the warranty ends", "amount": p.holdback, "effect": "deduct"})
    assert sum(x["amount"] if x["effect"] == "add" else -x["amount"] for x in lines) == paid_now
    return lines


def holdback_lines(amount: int) -> list[dict]:
    return [{"item": "Holdback released after the warranty period", "amount": amount, "effect": "add"}]


def dispute_lines(provider_share_bps: int, to_provider: int, to_client: int) -> list[dict]:
    """The provider's share as the line; the client's share kept in base units beside it, for
    `for_people` to name in token units (the stored line knows no token)."""
    return [
        {
            "item": f"Dispute split: {provider_share_bps / 100:.2f}% to the provider",
            "amount": to_provider,
            "effect": "add",
            "to_client": to_client,
        }
    ]


def for_people(d: dict, token: Token) -> dict:
    """The document with the token's symbol and decimals, each amount in token units beside its base
    units, and the milestone's 1-based number beside its 0-based index. A dispute split's share back
    to the client is named on its line and is the document's refund to the client."""
    refund = d["refund_to_client"] or sum(line.get("to_client", 0) for line in d["lines"])
    return d | {
        "milestone_number": d["milestone_index"] + 1,
        "token_symbol": token.symbol,
        "token_decimals": token.decimals,
        "lines": [_line_for_people(line, token) for line in d["lines"]],
        "total_display": format_amount(d["total"], token),
        "refund_to_client": refund,
        "refund_to_client_display": format_amount(refund, token),
    }


def _line_for_people(line: dict, token: Token) -> dict:
    shown = {k: v for k, v in line.items() if k != "to_client"} | {
        "amount_display": format_amount(line["amount"], token)
    }
    if "to_client" in line:
        shown["item"] = f"{line['item']} ({format_amount(line['to_client'], token)} back to the client)"
    return shown


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


_HTML = Environment(autoescape=select_autoescape(default=True, default_for_string=True)).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice {{ d.number }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2.5rem; color: #111; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
td, th { padding: .4rem .6rem; border-bottom: 1px solid #ddd; text-align: left; }
td.amount, th.amount { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 2px solid #111; }
.meta { color: #444; font-size: .9rem; word-break: break-all; }
@media print { body { margin: 1cm; } }
</style></head><body>
<h1>Invoice {{ d.number }}</h1>
<p class="meta">Issued {{ date(d.issued_at) }} &middot; {{ d.kind }} of milestone {{ d.milestone_number }} \
({{ d.milestone_title }})</p>
<p><strong>Agreement:</strong> {{ d.agreement_title }}<br><span class="meta">{{ d.agreement_id }}</span></p>
<p><strong>Provider (payee):</strong> <span class="meta">{{ d.provider }}</span><br>
<strong>Client (payer):</strong> <span class="meta">{{ d.client }}</span></p>
<table><thead><tr><th>Item</th><th class="amount">Amount ({{ d.token_symbol }})</th></tr></thead><tbody>
{% for line in d.lines %}<tr><td>{{ line.item }}</td>\
<td class="amount">{{ "-" if line.effect == "deduct" else "" }}{{ line.amount_display }}</td></tr>
{% endfor %}<tr class="total"><td>Paid to the provider</td><td class="amount">{{ d.total_display }}</td></tr>
{% if d.refund_to_client %}<tr><td>Refunded to the client</td>\
<td class="amount">{{ d.refund_to_client_display }}</td></tr>{% endif %}
</tbody></table>
<p class="meta">Paid on-chain in transaction {{ d.tx_hash }}.</p>
</body></html>
""")


def render_html(d: dict) -> str:
    return _HTML.render(d=d, date=_date)


def render_pdf(d: dict) -> bytes:
    from fpdf import FPDF  # 0.2 s to import: paid by the process that renders a PDF, not by every one that starts

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, f"Invoice {d['number']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for text in (
        f"Issued {_date(d['issued_at'])} - {d['kind']} of milestone {d['milestone_number']} ({d['milestone_title']})",
        f"Agreement: {d['agreement_title']}",
        d["agreement_id"],
        f"Provider (payee): {d['provider']}",
        f"Client (payer): {d['client']}",
    ):
        pdf.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(120, 7, "Item", border="B")
    pdf.cell(0, 7, f"Amount ({d['token_symbol'][:20]})", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for line in d["lines"]:
        sign = "-" if line["effect"] == "deduct" else ""
        pdf.cell(120, 7, _latin1(line["item"]))
        pdf.cell(0, 7, _latin1(sign + line["amount_display"]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(120, 8, "Paid to the provider", border="T")
    pdf.cell(0, 8, _latin1(d["total_display"]), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    if d["refund_to_client"]:
        pdf.set_font("Helvetica", size=10)
        pdf.cell(120, 7, "Refunded to the client")
        pdf.cell(0, 7, _latin1(d["refund_to_client_display"]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(0, 4, f"Paid on-chain in transaction {d['tx_hash']}.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """The PDF core fonts speak Latin-1; other characters print as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")
