"""The audit as data (JSON) and as a printable HTML page."""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

from attestpay.tokens import TokenRegistry, format_amount
from auditor.checks import Verdict
from auditor.history import History


def as_json(history: History, verdicts: list[Verdict]) -> dict:
    failures = [f"{v.agreement_id}: {f}" for v in verdicts for f in v.failures]
    return {
        "passed": not failures,
        "failures": failures,
        "chainId": history.chain_id,
        "escrow": history.escrow,
        "registry": history.registry,
        "headBlock": history.head,
        "settlementsVerified": sum(v.settlements for v in verdicts),
        "anchoringPending": [f"{v.agreement_id}: {p}" for v in verdicts for p in v.pending],
        "agreements": [
            {
                "agreementId": v.agreement_id,
                "token": v.token,
                "settlements": v.settlements,
                "settled": str(v.settled),
                "refunded": str(v.refunded),
                "passed": v.passed,
                "failures": v.failures,
                "notes": v.notes,
                "pending": v.pending,
            }
            for v in verdicts
        ],
    }


_HTML = Environment(autoescape=select_autoescape(default=True, default_for_string=True)).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AttestPay audit of {{ r.escrow }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #111; }
.pass { color: #0a6b2d; } .fail { color: #a4161a; }
table { border-collapse: collapse; width: 100%; } \
td, th { padding: .4rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
code { font-size: .85em; word-break: break-all; }
@media print { body { margin: 0; } }
</style></head><body>
<h1>Audit of escrow <code>{{ r.escrow }}</code></h1>
<p>Chain {{ r.chainId }}, registry <code>{{ r.registry }}</code>, up to block {{ r.headBlock }}.
{{ r.settlementsVerified }} settlements verified from chain data and evidence alone.</p>
<p class="{{ 'pass' if r.passed else 'fail' }}">\
<strong>{{ 'Every payout checks out.' if r.passed else r.failures|length ~ ' discrepancies found.' }}</strong></p>
<p>Milestones are numbered from 1.</p>
<table><thead><tr><th scope="col">agreement</th><th scope="col">settlements</th>\
<th scope="col">settled to the provider</th>
<th scope="col">refunded to the client</th><th scope="col">verdict</th></tr></thead><tbody>
{% for a in r.agreements %}<tr><td>{% if titles.get(a.agreementId) %}<strong>{{ titles[a.agreementId] }}\
</strong><br>{% endif %}
<code>{{ a.agreementId }}</code></td><td>{{ a.settlements }}</td>
<td>{{ money(a.settled, a.token) }}</td><td>{{ money(a.refunded, a.token) }}</td>
<td class="{{ 'pass' if a.passed else 'fail' }}">{{ 'passed' if a.passed else 'failed' }}
{% if a.failures %}<ul>{% for f in a.failures %}<li>{{ f }}</li>{% endfor %}</ul>{% endif %}
{% if a.notes %}<ul>{% for n in a.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}\
{% if a.pending %}<ul>{% for n in a.pending %}<li>warning: {{ n }}</li>{% endfor %}</ul>{% endif %}</td></tr>
{% endfor %}</tbody></table></body></html>
""")


def as_html(report: dict, titles: dict[str, str] | None = None, tokens: TokenRegistry | None = None) -> str:
    """The printable report; `titles` (agreement id -> title, from the parties' documents) and
    `tokens` (symbols and decimals) make it readable, the verdicts rest on chain data alone."""
    tokens = tokens or TokenRegistry()
    return _HTML.render(
        r=report, titles=titles or {}, money=lambda amount, token: format_amount(int(amount), tokens.token(token))
    )
