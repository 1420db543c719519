"""Portfolio analytics over agreements as the database holds them. Pure: objects in, figures out.

Definitions (docs/backend.md): a milestone is *due* once settled, reclaimed, resolved, or past
its deadline; completion rate = settled / due; on time = settled with observedAt <= deadline;
lateness in days (ceil, as the escrow counts it); achievement = value / target in the metric's
direction; funds at risk = amount + bonus of funded open milestones that are disputed, past
deadline or whose latest attestation misses the target, plus disputed holdbacks."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from attestpay import payout
from attestpay.design.history import achievement
from attestpay.tokens import format_amount
from backend.db.models import Agreement, AttestationRecord, MilestoneRecord
from backend.domain.terms import milestone_terms

FUNDED = ("active", "completed")


def _meets(m: MilestoneRecord, value: int) -> bool:
    return payout.reaches(value, m.target, m.higher_is_better)


def _achievement(m: MilestoneRecord, value: int) -> float | None:
    return achievement(value, m.target, m.higher_is_better)


def portfolio(agreements: list[Agreement], latest: dict[tuple[int, int], AttestationRecord], now: int) -> dict:
    """`latest`: the newest attestation per (agreement pk, milestone index)."""
    funded = [a for a in agreements if a.status in FUNDED]
    milestones = [(a, m) for a in funded for m in a.milestones]
    settled = [(a, m) for a, m in milestones if m.status == "settled"]
    due = [(a, m) for a, m in milestones if m.status != "open" or m.deadline < now]
    lateness = [payout.days_late(m.deadline, m.settled_observed_at) for _, m in settled]
    achieved = [x for x in (_achievement(m, m.settled_value) for _, m in settled) if x is not None]

    at_risk: dict[str, int] = defaultdict(int)
    for a, m in milestones:
        att = latest.get((a.id, m.index))
        if m.status == "disputed" or (m.status == "open" and (m.deadline < now or (att and not _meets(m, att.value)))):
            at_risk[a.token] += m.amount + m.bonus
        if m.holdback_status == "disputed":
            at_risk[a.token] += m.holdback or 0

    return {
        "agreements": len(agreements),
        "funded_agreements": len(funded),
        "milestones": len(milestones),
        "milestones_due": len(due),
        "milestones_settled": len(settled),
        "completion_rate": _ratio(len(settled), len(due)),
        "on_time_rate": _ratio(sum(1 for d in lateness if d == 0), len(settled)),
        "average_days_late": _ratio(sum(lateness), len(settled)),
        "average_achievement": _ratio(sum(achieved), len(achieved)),
        "funds_at_risk": {token: str(v) for token, v in sorted(at_risk.items())},
        "cash_flow": cash_flow(funded, latest, now),
    }


CASES = ("best", "expected", "worst")


def for_people(report: dict, token_of) -> dict:
    """The portfolio with each base-unit figure also in token units ("1,050 mUSD"), `token_of`
    giving a token address's symbol and decimals."""
    return report | {
        "funds_at_risk_display": {t: format_amount(int(v), token_of(t)) for t, v in report["funds_at_risk"].items()},
        "cash_flow": [
            row | {f"{case}_display": format_amount(int(row[case]), token_of(row["token"])) for case in CASES}
            for row in report["cash_flow"]
        ],
    }


def _ratio(part: float, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def cash_flow(funded: list[Agreement], latest: dict[tuple[int, int], AttestationRecord], now: int) -> list[dict]:
    """Expected payments to providers by UTC date and token, in three cases. Best: every open
    milestone reaches its stretch value on its deadline. Expected: at the latest attested value
    (the target when none), settled now if that is before the deadline, else on it. Worst: open
    milestones without an attestation that meets the target are reclaimed (nothing paid) and disputed
    holdbacks are lost.
    Holdbacks pay out settledAt + holdbackPeriod in every case but the worst for disputed ones."""
    flows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])

    def add(token: str, when: int, case: int, amount: int) -> None:
        if amount:
            flows[(datetime.fromtimestamp(when, UTC).date().isoformat(), token)][case] += amount

    for a in funded:
        for m in a.milestones:
            terms = milestone_terms(m)
            if m.status == "open":
                best = payout.compute(terms, m.stretch, m.deadline)
                att = latest.get((a.id, m.index))
                value = att.value if att else m.target
                when = max(now, min(m.deadline, att.observed_at if att else m.deadline))
                expected = payout.compute(terms, value, when)
                for case, p, at in ((0, best, m.deadline), (1, expected, when)):
                    add(a.token, at, case, p.paid_now)
                    add(a.token, at + m.holdback_period, case, p.holdback)
                if att and _meets(m, att.value):
                    add(a.token, when, 2, expected.paid_now)
                    add(a.token, when + m.holdback_period, 2, expected.holdback)
            elif m.holdback_status in ("held", "disputed"):
                release = (m.settled_at or now) + m.holdback_period
                for case in (0, 1) if m.holdback_status == "disputed" else (0, 1, 2):
                    add(a.token, max(release, now), case, m.holdback)
    return [
        {"date": date, "token": token, "best": str(b), "expected": str(e), "worst": str(w)}
        for (date, token), (b, e, w) in sorted(flows.items())
    ]
