"""The canvas's Do / Don't as checks on a design: metrics both parties can verify, no vague
criteria, not too many or too small milestones, cost timing and cash flow, thresholds the
forecast says are near-certain or near-impossible, protection on risky milestones. Findings
are advice (`warning`, `info`), never a refusal: the parties decide."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from attestpay import payout
from attestpay.design import document
from attestpay.design.document import Design
from attestpay.design.simulate import BANDS, MilestoneDraws, SimulatedDeal
from attestpay.design.units import day, display

MetricCheck = Callable[[dict], str | None]  # a spec's problem as the oracle sees it, or None


def finding(level: str, code: str, message: str, milestone: int | None = None) -> dict:
    return {"level": level, "code": code, "milestone": milestone, "message": message}


def lint(
    design: Design, deal: SimulatedDeal, draws: list[MilestoneDraws], metric_problem: MetricCheck, fits: list[dict]
) -> list[dict]:
    """Every finding, in the document's order."""
    cfg, out = design.lint, []
    total = sum(p.terms.amount for p in deal.plans)
    if len(design.milestones) > cfg.max_milestones:
        out.append(
            finding(
                "warning",
                "too-many-milestones",
                f"{len(design.milestones)} milestones (more than {cfg.max_milestones}): each one is a measurement, "
                "an attestation and a settlement to agree on; merge the small ones",
            )
        )
    fitted = {(f["milestone"], f["forecast"]): f["points"] for f in fits}
    for i, (m, plan, d) in enumerate(zip(design.milestones, deal.plans, draws, strict=True)):
        out += _metric(i, m, metric_problem)
        if total and plan.terms.amount < cfg.min_milestone_share * total:
            out.append(
                finding(
                    "warning",
                    "small-milestone",
                    f"{m.title!r} is {plan.terms.amount / total:.1%} of the deal "
                    f"(less than {cfg.min_milestone_share:.0%}): "
                    "fold it into a neighbour",
                    i,
                )
            )
        if not m.value_statement.strip():
            out.append(
                finding("info", "no-value-statement", f"{m.title!r} says nothing of what it is worth to the client", i)
            )
        if not (m.roles.approves or m.roles.validates or m.roles.authorizes):
            out.append(
                finding("info", "no-roles", f"{m.title!r} names nobody who approves, validates or authorizes it", i)
            )
        out += _thresholds(design, i, plan.terms, d, fitted.get((i, "value")))
        out += _protection(design, i, d, document.cure_window(design))
    out += _cash_gap(design, deal)
    return out


def _metric(i: int, m, metric_problem: MetricCheck) -> list[dict]:
    name = m.spec.get("name", m.title)
    out = []
    problem = "it names no source" if not m.spec.get("source") else metric_problem(m.spec)
    if problem:
        out.append(
            finding(
                "warning",
                "unmeasurable-metric",
                f"metric {name!r} of {m.title!r} has no machine-measurable source ({problem}): "
                "both parties must be able to verify it independently",
                i,
            )
        )
    if m.source_owner in ("client", "provider"):
        out.append(
            finding(
                "warning",
                "one-sided-source",
                f"metric {name!r} of {m.title!r} is measured from data only the {m.source_owner} controls: "
                "the other party cannot verify it independently (use shared or independent data)",
                i,
            )
        )
    elif m.source_owner is None:
        out.append(
            finding("info", "source-owner-unstated", f"who controls the data behind metric {name!r} is not stated", i)
        )
    return out


def reach_share(d: MilestoneDraws, mark: int) -> float:
    """Share of draws whose value reaches `mark` in the metric's direction."""
    rel = mark - d.low
    up = d.plan.terms.higher_is_better
    return float(np.mean(d.rel >= rel if up else d.rel <= rel))


def _thresholds(design: Design, i: int, m, d: MilestoneDraws, points: int | None) -> list[dict]:
    cfg, out = design.lint, []
    said = f"history ({points} past milestones) says" if points else "the forecast says"
    title = design.milestones[i].title
    target = reach_share(d, m.target)
    if target >= cfg.near_certain:
        out.append(
            finding(
                "warning",
                "near-certain-target",
                f"{said} the target of {title!r} is reached in {target:.0%} of cases: "
                "it links no payment to performance",
                i,
            )
        )
    floor = reach_share(d, m.floor)
    if floor <= cfg.near_impossible:
        out.append(
            finding(
                "warning",
                "near-impossible-floor",
                f"{said} the floor of {title!r} is reached in {floor:.0%} of cases",
                i,
            )
        )
    if m.bonus > 0 and reach_share(d, m.stretch) <= cfg.near_impossible:
        out.append(
            finding(
                "info",
                "near-impossible-stretch",
                f"{said} the stretch of {title!r} is reached in {reach_share(d, m.stretch):.0%} of cases: "
                "the bonus is mostly escrowed for nothing",
                i,
            )
        )
    return out


def _protection(design: Design, i: int, d: MilestoneDraws, cure: int) -> list[dict]:
    counts = np.bincount(d.key, minlength=d.keys)
    under = sum(
        int(c) for c, b in zip(counts, d.bands.tolist(), strict=True) if BANDS[b] in ("below_floor", "partial", "late")
    )
    risk = under / len(d.key)
    if risk <= design.lint.high_risk:
        return []
    missing = [
        what
        for what, absent in (("no cure window", cure == 0), ("no holdback", d.plan.terms.holdback_bps == 0))
        if absent
    ]
    if not missing:
        return []
    return [
        finding(
            "warning",
            "unprotected-risk",
            f"{design.milestones[i].title!r} misses its target or deadline in {risk:.0%} of cases "
            f"and has {' and '.join(missing)}",
            i,
        )
    ]


def _cash_gap(design: Design, deal: SimulatedDeal) -> list[dict]:
    """The provider's costs against what it receives if every milestone meets its target on its
    deadline: the longest stretch of time its spending runs ahead of its receipts."""
    events = []
    for p in deal.plans:
        planned = payout.compute(p.terms, p.terms.target, p.terms.deadline)
        events += [(c.at, -c.amount) for c in p.costs]
        events += [(p.terms.deadline, planned.paid_now), (p.terms.deadline + p.terms.holdback_period, planned.holdback)]
    balance, since, peak = 0, None, 0
    gaps: list[tuple[int, int, int | None]] = []  # (seconds, from, until or None: never covered)
    for at, amount in sorted(events, key=lambda e: (e[0], -e[1])):
        balance += amount
        if balance < 0:
            since = at if since is None else since
            peak = max(peak, -balance)
        elif since is not None:
            gaps.append((at - since, since, at))
            since = None
    if since is not None:
        gaps.append((max(e[0] for e in events) - since, since, None))
    if not gaps:
        return []
    seconds, begun, ended = max(gaps, key=lambda g: g[0])
    days = seconds // payout.DAY
    if days <= design.lint.max_cash_gap_days and ended is not None:
        return []
    tok = deal.token
    until = f"until {day(ended)}" if ended else "and the receipts never cover them"
    return [
        finding(
            "warning",
            "cash-gap",
            f"the provider's costs run ahead of its receipts for {days} days from {day(begun)} ({until}), "
            f"up to {display(peak, tok.decimals, tok.symbol, 2)} even if every target is met on time "
            f"(more than {design.lint.max_cash_gap_days} days): bill an earlier milestone or an advance",
        )
    ]
