"""The demo's account of what happened, per milestone: its terms (from the API), the attestation it
was decided on (the backend's record of the oracles' signatures), the outcome and every
transaction (from the escrow's events on the chain). Token amounts are decimal strings (uint256),
other integers JSON numbers. `text()` renders the same document for a person."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from attestpay import payout
from attestpay.terms import ETH, Milestone
from attestpay_cli.demo.scenarios import UNIT, Played
from attestpay_cli.demo.stage import Stage

AGREEMENT_EVENTS = ("AgreementCreated", "AgreementConsented", "AgreementFunded")
TERMS = {  # the document's name: the API's
    "amount": "amount",
    "bonus": "bonus",
    "higherIsBetter": "higher_is_better",
    "floor": "floor",
    "target": "target",
    "stretch": "stretch",
    "floorPayoutBps": "floor_payout_bps",
    "deadline": "deadline",
    "latePenaltyBpsPerDay": "late_penalty_bps_per_day",
    "maxLatePenaltyBps": "max_late_penalty_bps",
    "holdbackBps": "holdback_bps",
    "holdbackPeriod": "holdback_period",
    "requiresClientApproval": "requires_client_approval",
}


def scenario(stage: Stage, played: Played, events: list[dict]) -> dict:
    """`events`: the escrow's events (auditor.history), all agreements'."""
    agreement = stage.agreement(played.pk)
    mine = [e for e in events if e["args"].get("agreementId") == agreement["agreement_id"]]
    return {
        "name": played.name,
        "title": agreement["title"],
        "agreementId": agreement["agreement_id"],
        "token": "ETH" if agreement["token"] in (None, ETH) else agreement["token"],
        "status": agreement["status"],
        "oracles": {"signers": agreement["oracles"], "threshold": agreement["threshold"]},
        "transactions": [_tx(e) for e in mine if e["event"] in AGREEMENT_EVENTS],
        "milestones": [
            _milestone(stage, played, m, [e for e in mine if e["args"].get("index") == m["index"]])
            for m in agreement["milestones"]
        ],
    }


def _milestone(stage: Stage, played: Played, m: dict, events: list[dict]) -> dict:
    terms = {name: _integer(m[field]) for name, field in TERMS.items()}
    for name in ("amount", "bonus"):
        terms[name] = str(terms[name])
    settled = next((e["args"] for e in events if e["event"] == "MilestoneSettled"), None)
    digest = settled["attestation"] if settled else played.measured.get(m["index"])
    attestation = None
    if digest:
        a = stage.call(stage.client, "GET", f"/v1/attestations/{digest}")
        attestation = {
            "digest": digest,
            "value": _integer(a["value"]),
            "observedAt": a["observed_at"],
            "evidenceHash": a["evidence_hash"],
            "signers": a["signers"],
            "expiresAt": a["expires_at"],
        }
    return {
        "index": m["index"],
        "title": m["title"],
        "metric": {k: m["spec"][k] for k in ("name", "unit", "decimals", "aggregation")},
        "metricId": m["metric_id"],
        "terms": terms,
        "attestation": attestation,
        "outcome": _outcome(m, settled, events),
        "transactions": [_tx(e) for e in events],
        "story": played.story.get(m["index"], []),
    }


def _outcome(m: dict, settled: dict | None, events: list[dict]) -> dict:
    """Paid, held and refunded as the escrow's events say; base, bonus and penalty are the
    formula's parts of that payment (the event carries the totals, not the parts)."""
    zero = {"paidNow": 0, "holdback": 0, "refund": 0, "base": 0, "bonusEarned": 0, "penalty": 0}
    resolved = next((e["args"] for e in events if e["event"] == "DisputeResolved" and not e["args"]["holdback"]), None)
    reclaimed = next((e["args"] for e in events if e["event"] == "MilestoneReclaimed"), None)
    released = next((e["args"] for e in events if e["event"] == "HoldbackReleased"), None)
    if settled:
        figures = payout.compute(_terms(m), settled["value"], settled["observedAt"])
        outcome = {
            "state": "settled",
            "paidNow": settled["paidNow"],
            "holdback": settled["holdback"],
            "refund": settled["refund"],
            "base": figures.base,
            "bonusEarned": figures.bonus_earned,
            "penalty": figures.penalty,
            "penaltyBps": figures.penalty_bps,
            "holdbackStatus": "released" if released else ("held" if settled["holdback"] else "none"),
        }
    elif resolved:
        outcome = zero | {
            "state": "split by the arbiter",
            "paidNow": resolved["toProvider"],
            "refund": resolved["toClient"],
            "providerShareBps": resolved["providerShareBps"],
        }
    elif reclaimed:
        outcome = zero | {"state": "reclaimed", "refund": reclaimed["amount"]}
    else:
        outcome = zero | {"state": m["status"]}
    return {k: str(v) if k in zero else v for k, v in outcome.items()}


def _terms(m: dict) -> Milestone:
    return Milestone(
        int(m["amount"]),
        int(m["bonus"]),
        bytes.fromhex(m["metric_id"][2:]),
        int(m["floor"]),
        int(m["target"]),
        int(m["stretch"]),
        m["deadline"],
        m["holdback_period"],
        m["floor_payout_bps"],
        m["late_penalty_bps_per_day"],
        m["max_late_penalty_bps"],
        m["holdback_bps"],
        m["higher_is_better"],
        m["requires_client_approval"],
    )


def _tx(e: dict) -> dict:
    return {"event": e["event"], "txHash": e["transactionHash"], "block": e["blockNumber"]}


def _integer(value) -> int:
    return int(value) if isinstance(value, str) else value


# ---------------------------------------------------------------------- for a person


def text(document: dict) -> str:
    lines = []
    for s in document["scenarios"]:
        unit = "ETH" if s["token"] == "ETH" else "mUSD"
        lines += [
            "",
            f"== {s['name']}: {s['title']}",
            f"   agreement {s['agreementId']}, paid in {unit}, "
            f"{s['oracles']['threshold']}-of-{len(s['oracles']['signers'])} oracles; "
            f"funded in {_hashes(s['transactions'])}",
        ]
        for m in s["milestones"]:
            lines += _milestone_text(m, unit)
    lines += ["", "== Anchoring"]
    lines += [
        f"   root {b['root'][:18]}… anchored by {b['anchorer']} "
        f"at {_date(b['anchoredAt'])}: {b['attestations']} attestations, "
        f"every one the oracles signed (in the queues of {len(b['oracles'])} oracles)"
        for b in document["anchoring"]
    ]
    audit = document["audit"]
    lines += [
        "",
        "== Independent audit (chain data and published evidence only)",
        f"   {audit['settlementsVerified']} settlements of {len(audit['agreements'])} agreements re-verified: "
        + ("every payout checks out" if audit["passed"] else "DISCREPANCIES FOUND"),
    ]
    lines += [f"   ! {f}" for f in audit["failures"]]
    return "\n".join(lines)


def _milestone_text(m: dict, unit: str) -> list[str]:
    t, o, a, metric = m["terms"], m["outcome"], m["attestation"], m["metric"]
    direction = "at least" if t["higherIsBetter"] else "at most"
    lines = [
        f" [{m['index']}] {m['title']}",
        f"     target {direction} {_value(t['target'], metric)} (floor {_value(t['floor'], metric)}), "
        f"amount {_money(t['amount'])}{_bonus(t['bonus'])} {unit}, due {_date(t['deadline'])}",
    ]
    if a:
        lines.append(
            f"     attested {_value(a['value'], metric)} at {_date(a['observedAt'])} by {len(a['signers'])} oracles, "
            f"evidence {a['evidenceHash'][:18]}…"
        )
    lines += [f"     · {line}" for line in m["story"]]
    if o["state"] == "settled":
        lines.append(
            f"     settled: base {_money(o['base'])} + bonus {_money(o['bonusEarned'])} "
            f"- late penalty {_money(o['penalty'])} "
            f"({o['penaltyBps'] / 100:g}%); "
            f"paid now {_money(o['paidNow'])}, held back {_money(o['holdback'])} ({o['holdbackStatus']}), "
            f"refunded {_money(o['refund'])} {unit}"
        )
    else:
        lines.append(
            f"     {o['state']}: to the provider {_money(o['paidNow'])}, "
            f"back to the client {_money(o['refund'])} {unit}"
        )
    lines.append(f"     transactions: {_hashes(m['transactions'])}")
    return lines


def _bonus(bonus: str) -> str:
    return f" + bonus up to {_money(bonus)}" if int(bonus) else ""


def _hashes(transactions: list[dict]) -> str:
    return ", ".join(f"{t['event']} {t['txHash'][:12]}…" for t in transactions) or "none"


def _money(amount: str) -> str:
    return f"{Decimal(int(amount)) / UNIT:,.2f}"


def _value(value: int, metric: dict) -> str:
    return f"{Decimal(value).scaleb(-metric['decimals']):,} {metric['unit']}"


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
