"""Monte Carlo of a deal's settlements, exact to the base unit: each draw's payout is what
`attestpay.payout.compute` (the escrow's formula) gives for that draw's value and observation time.

Vectorised: a milestone's payout depends on the draw only through the value (cut to just outside
[floor, stretch]) and the days late (cut where the penalty stops growing), so the draws are keyed
by those two; steps 1-3 run in `payout.compute` once per distinct value, steps 4-7 on exact wide
integers (`attestpay.design.wide`) once per key, and the figures are gathered back per draw.

The model (docs/design.md): the client funds every milestone at the start; a milestone's value is
measured `delay` days after its deadline and settles at once (a partial result accepted by the
provider, an approval given); measured later than the cure window, the client reclaims amount +
bonus just after it; a holdback is released `holdback_period` after settlement; no disputes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from attestpay import payout
from attestpay.design import DesignError, document, wide
from attestpay.design.distributions import Distribution, sample
from attestpay.design.document import Costs, Design, TokenUnits
from attestpay.terms import Milestone, Payout

BANDS = ("below_floor", "partial", "target", "bonus", "late")
LATE = BANDS.index("late")
QUANTILES = (0.1, 0.5, 0.9)
RECLAIMED = -1
FIGURES = ("paid_now", "holdback", "paid", "refund", "penalty", "bonus_earned")


@dataclass(frozen=True)
class Plan:
    """One milestone as simulated. `pinned`: the value does not decide the payment (alternative
    structures): "delivery" pays the target's amount when measured, "upfront" at the start."""

    title: str
    terms: Milestone
    decimals: int
    value: Distribution
    delay: Distribution
    costs: tuple[Costs, ...] = ()
    pinned: Literal["delivery", "upfront"] | None = None


@dataclass(frozen=True)
class SimulatedDeal:
    title: str
    start: int
    cure_window: int
    token: TokenUnits
    plans: tuple[Plan, ...]

    @classmethod
    def from_design(cls, design: Design, forecasts: list[tuple[Distribution, Distribution]]) -> SimulatedDeal:
        """`forecasts`: per milestone, its value and delay distributions, resolved (`history.forecasts`)."""
        plans = tuple(
            Plan(
                m.title,
                document.milestone(design, i),
                _decimals(m.spec, i),
                value,
                delay,
                tuple(document.costs(design, i)),
            )
            for i, (m, (value, delay)) in enumerate(zip(design.milestones, forecasts, strict=True))
        )
        total = sum(p.terms.amount + p.terms.bonus for p in plans)
        if total >= wide.LIMIT >> 8:
            raise DesignError("the deal's amounts are beyond what the simulation keeps exact")
        return cls(design.title, document.start(design), document.cure_window(design), design.token_units, plans)

    def without_costs(self) -> SimulatedDeal:
        return dataclasses.replace(self, plans=tuple(dataclasses.replace(p, costs=()) for p in self.plans))


def _decimals(spec: dict, index: int) -> int:
    decimals = spec.get("decimals")
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 18:
        raise DesignError(f"milestones.{index}.spec.decimals: an integer 0..18")
    return decimals


@dataclass
class MilestoneDraws:
    """One milestone over every draw: the inputs and, per distinct key, the exact payout."""

    plan: Plan
    low: int  # values are low + rel
    rel: np.ndarray  # int64, the drawn value minus `low`, cut to [-1, span + 1]
    seconds_late: np.ndarray  # int64, observation time minus the deadline
    reclaimed: np.ndarray  # bool
    key: np.ndarray  # int64 per draw: which distinct (value, days late) it had; RECLAIMED keys included
    bands: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))  # per key
    figures: dict[str, np.ndarray] = field(default_factory=dict)  # per key, wide integers

    def value(self, draw: int) -> int:
        return self.low + int(self.rel[draw])

    def observed_at(self, draw: int) -> int:
        return self.plan.terms.deadline + int(self.seconds_late[draw])

    def figure(self, name: str, draw: int) -> int:
        return wide.to_int(self.figures[name][self.key[draw]])

    @property
    def keys(self) -> int:
        return len(self.bands)


def draw(deal: SimulatedDeal, n: int, seed: int) -> list[MilestoneDraws]:
    """n draws of every milestone. Each milestone has its own random stream (seed, index): a
    variant of the terms sees the very same outcomes (common random numbers)."""
    if n < 1:
        raise DesignError("draws: at least 1")
    return [_milestone(deal, i, n, np.random.default_rng([seed, i])) for i in range(len(deal.plans))]


def _milestone(deal: SimulatedDeal, index: int, n: int, rng: np.random.Generator) -> MilestoneDraws:
    plan = deal.plans[index]
    m = plan.terms
    low, high = min(m.floor, m.target, m.stretch), max(m.floor, m.target, m.stretch)
    if high - low >= 1 << 52:
        raise DesignError(f"milestones.{index}: floor to stretch spans more than 2**52 scaled units")
    scaled = sample(plan.value, rng, n) * 10.0**plan.decimals - float(low)
    rel = np.floor(np.clip(scaled, -1.0, float(high - low + 1))).astype(np.int64)
    days = sample(plan.delay, rng, n)
    seconds_late = np.maximum(np.rint(days * payout.DAY), deal.start - m.deadline).astype(np.int64)
    reclaimed = seconds_late > deal.cure_window if plan.pinned != "upfront" else np.zeros(n, dtype=bool)

    # the penalty stops growing after `cap` days: later days share a key
    rate = m.late_penalty_bps_per_day
    cap = max(1, -(-m.max_late_penalty_bps // rate)) if rate else 1
    days_late = np.where(seconds_late > 0, -(-seconds_late // payout.DAY), 0)
    keys = (rel + 1) * (cap + 1) + np.minimum(days_late, cap)
    keys[reclaimed] = RECLAIMED
    distinct, inverse = np.unique(keys, return_inverse=True)
    settled = distinct != RECLAIMED
    values, late = low + distinct // (cap + 1) - 1, distinct % (cap + 1)
    draws = MilestoneDraws(plan, low, rel, seconds_late, reclaimed, inverse.reshape(-1))
    draws.bands = np.array(
        [band(m, int(v), int(d)) if ok else LATE for v, d, ok in zip(values, late, settled, strict=True)], dtype=np.int8
    )
    draws.figures = _figures(plan, values, late, settled)
    return draws


def _figures(plan: Plan, values: np.ndarray, late: np.ndarray, settled: np.ndarray) -> dict[str, np.ndarray]:
    """Every figure per key, exact: steps 1-3 by `payout.compute` itself once per distinct value
    (on time), steps 4-7 (penalty, net, holdback, refund) on wide integers for every key, as
    PayoutMath does them: each product, then a division rounding down."""
    m = plan.terms
    distinct, which = np.unique(values, return_inverse=True)
    on_time = [_settle(plan, int(v)) for v in distinct]
    gross = wide.split([p.base + p.bonus_earned for p in on_time])[which]
    bonus = wide.split([p.bonus_earned for p in on_time])[which]
    penalty_bps = np.minimum(late * m.late_penalty_bps_per_day, m.max_late_penalty_bps) if not plan.pinned else 0
    penalty = wide.div_small(wide.times_small(gross, penalty_bps), payout.BPS)
    net = wide.normalise(gross - penalty)
    holdback = wide.div_small(wide.times_small(net, m.holdback_bps), payout.BPS)
    paid_now = wide.normalise(net - holdback)
    full = wide.split([m.amount + m.bonus])
    figures = {"paid_now": paid_now, "holdback": holdback, "paid": net, "penalty": penalty, "bonus_earned": bonus}
    for name in figures:
        figures[name][~settled] = 0  # reclaimed: the client takes amount + bonus back
    figures["refund"] = wide.normalise(full - figures["paid"])
    return figures


def _settle(plan: Plan, value: int) -> Payout:
    """Steps 1-3 on time; a pinned structure pays as if at the target."""
    m = plan.terms
    return payout.compute(m, m.target if plan.pinned else value, m.deadline)


def band(m: Milestone, value: int, days_late: int) -> int:
    """Where an outcome falls, one band each: late first, then by value."""
    up = m.higher_is_better
    if days_late > 0:
        return LATE
    if not payout.reaches(value, m.floor, up):
        return BANDS.index("below_floor")
    if not payout.reaches(value, m.target, up):
        return BANDS.index("partial")
    if m.bonus > 0 and not payout.reaches(m.target, value, up):
        return BANDS.index("bonus")
    return BANDS.index("target")
