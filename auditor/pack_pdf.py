"""The audit pack's readable report: PDF/A-3B (fpdf2, fonts embedded) of what pack.json records,
milestone by milestone, amounts in token units and dates with their year."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from attestpay.design.units import display
from oracle.spec import MetricSpec

if TYPE_CHECKING:
    from fpdf import FPDF

# Debian's fonts-dejavu-core, as the invoices use: PDF/A needs every font embedded.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
STEPS = (
    ("earned_bps", "1. share of the amount earned (bps)"),
    ("base", "2. base earned"),
    ("bonus_earned", "3. bonus earned"),
    ("penalty_bps", "4. late penalty (bps)"),
    ("penalty", "5. late penalty"),
    ("net", "5. net"),
    ("holdback", "6. held back"),
    ("paid_now", "6. paid now"),
    ("refund", "7. refunded to the client"),
)


def render(pack: dict, specs: dict[str, bytes]) -> bytes:
    from fpdf import FPDF  # 0.2 s to import: paid where a PDF is made, not by every process

    token = pack["token"]

    def money(units: int) -> str:
        return display(units, token["decimals"], token["symbol"])

    pdf = FPDF(format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_lang("en-GB")
    pdf.set_title(f"Audit pack of agreement {pack['agreementId']}")
    pdf.set_author("AttestPay auditor")
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    heading = _writer(pdf, "B", 16)
    text = _writer(pdf, "", 8)
    sub = _writer(pdf, "B", 11)
    heading("Audit pack")
    terms = pack["terms"]
    text(f"Agreement {pack['agreementId']} on chain {pack['chainId']}, escrow {pack['escrow']}")
    verdict = "every payout checks out." if pack["audit"]["passed"] else "; ".join(pack["audit"]["failures"])
    text(f"Read from the chain up to block {pack['headBlock']:,}. Auditor's verdict: {verdict}")
    sub("Parties")
    text(f"Client {terms['client']}; provider {terms['provider']}; arbiter {terms['arbiter']}")
    text(f"Oracles: {terms['threshold']} of {len(terms['oracles'])} must sign: {', '.join(terms['oracles'])}")
    sub("Terms")
    text(f"Paid in {token['symbol']} ({token['address']}); cure window {terms['cureWindow'] // 86_400} days; "
         f"revision {terms['revision']}; documents hash {terms['docsHash']}")  # fmt: skip
    settled = {s["index"]: s for s in pack["settlements"]}
    for index, m in enumerate(pack["milestones"]):
        sub(f"Milestone {index}")
        spec = MetricSpec.model_validate_json(specs[m["metricId"]]) if m["metricId"] in specs else None
        measure = f"{spec.name} in {spec.unit}, scaled by 10^{spec.decimals}" if spec else f"metric {m['metricId']}"
        direction = "higher is better" if m["higherIsBetter"] else "lower is better"
        text(f"{money(m['amount'])} plus a bonus of up to {money(m['bonus'])}, due by {_when(m['deadline'])}, "
             f"measured as {measure} ({direction}): floor {m['floor']:,} pays {m['floorPayoutBps'] / 100:g}%, "
             f"target {m['target']:,} pays all, stretch {m['stretch']:,} pays the whole bonus; late penalty "
             f"{m['latePenaltyBpsPerDay'] / 100:g}% a day up to {m['maxLatePenaltyBps'] / 100:g}%; "
             f"{m['holdbackBps'] / 100:g}% held back for {m['holdbackPeriod'] // 86_400} days.")  # fmt: skip
        text(f"Metric id {m['metricId']}")
        s = settled.get(index)
        if s is None:
            text("Not settled.")
            continue
        a = s["attestation"]
        text(f"Attested value {a['value']:,} observed {_when(a['observed_at'])}; "
             f"evidence hash {a['evidence_hash']}")  # fmt: skip
        text(f"Attestation {s['digest']}, signed by {', '.join(s['signers'])}")
        for r in s["revocations"]:
            when = "before" if (r["blockNumber"], r["logIndex"]) < (s["blockNumber"], s["logIndex"]) else "after"
            text(f"    {r['signer']} withdrew its signature at block {r['blockNumber']:,}, {when} the settlement")
        anchoring = s["anchoring"]
        text(f"Anchored in batch {anchoring['root']} at block {anchoring['blockNumber']:,} ({anchoring['proof']})")
        text(f"Settled in transaction {s['transactionHash']} at block {s['blockNumber']:,}")
        for key, label in STEPS:
            value = s["payout"][key]
            text(f"    {label}: {value:,}" if key.endswith("bps") else f"    {label}: {money(value)}")
    sub("Transactions")
    for e in pack["events"]:
        which = f" milestone {e['args']['index'] + 1}" if "index" in e["args"] else ""
        text(f"block {e['blockNumber']:,}  {e['event']}{which}  {e['transactionHash']}")
    return bytes(pdf.output())


def _writer(pdf: FPDF, style: str, size: int):
    def write(line: str) -> None:
        pdf.set_font("DejaVu", style, size)
        if style:
            pdf.ln(2)
        pdf.multi_cell(0, size * 0.5, line, new_x="LMARGIN", new_y="NEXT")

    return write


def _when(unix: int) -> str:
    return f"{datetime.fromtimestamp(unix, UTC):%d %B %Y %H:%M} UTC"
