"""Forecasts fitted from history: past milestones as points (achievement against target, days
late, cost), from the portfolio's own settled milestones or from a CSV of past projects.

A metric's *kind* is its spec's unit ("accuracy", "users", "ms") unless a forecast names one.
A fit states the points it stands on and refuses to stand on fewer than `minimum`.

CSV columns (header row required, order free; docs/design.md, examples/design/past-projects.csv):
project, milestone, metric_kind, higher_is_better (true/false), target, achieved (both in the
metric's own units), planned_date, actual_date (ISO dates), cost (optional, token units)."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from attestpay.design import DesignError, document
from attestpay.design.distributions import Distribution, Empirical, FromHistory, Normal
from attestpay.design.document import Design

MINIMUM_POINTS = 5
CSV_COLUMNS = (
    "project",
    "milestone",
    "metric_kind",
    "higher_is_better",
    "target",
    "achieved",
    "planned_date",
    "actual_date",
)


@dataclass(frozen=True)
class Point:
    kind: str
    achievement: float | None  # achieved / target in the metric's direction: 1.0 on target, > 1 beyond it
    days_late: float  # after the planned date or deadline; negative: early
    cost: float | None = None
    source: str = ""


def achievement(value: float, target: float, higher_is_better: bool) -> float | None:
    """How far a value got relative to its target, in the metric's direction (1.0: on target);
    None where the ratio means nothing (a zero target, a zero lower-is-better value)."""
    if target == 0 or (not higher_is_better and value == 0):
        return None
    return value / target if higher_is_better else target / value


def from_csv(text: str, source: str = "csv") -> list[Point]:
    """Points from past projects; errors name the line and the column."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DesignError(f"{source}: missing column(s) {', '.join(missing)} (needs {', '.join(CSV_COLUMNS)})")
    points = []
    for line, row in enumerate(reader, start=2):
        try:
            higher = {"true": True, "false": False}[row["higher_is_better"].strip().lower()]
            planned, actual = (
                date.fromisoformat(row["planned_date"].strip()),
                date.fromisoformat(row["actual_date"].strip()),
            )
            target, achieved = float(row["target"]), float(row["achieved"])
            cost = float(row["cost"]) if (row.get("cost") or "").strip() else None
        except (KeyError, ValueError) as exc:
            raise DesignError(f"{source} line {line}: {exc}") from None
        if not all(map(math.isfinite, (target, achieved))):
            raise DesignError(f"{source} line {line}: target and achieved must be finite numbers")
        kind = row["metric_kind"].strip()
        if not kind:
            raise DesignError(f"{source} line {line}: metric_kind is empty")
        points.append(
            Point(kind, achievement(achieved, target, higher), float((actual - planned).days), cost, f"{source}:{line}")
        )
    return points


@dataclass(frozen=True)
class Fit:
    kind: str
    points: int
    achievement: dict  # mean, sd, p10, p50, p90 of achieved / target
    days_late: dict
    on_time: float  # share of points at or before the planned date
    mean_cost: float | None

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


def _describe(values: np.ndarray) -> dict:
    p10, p50, p90 = np.percentile(values, (10, 50, 90))
    return {
        "mean": round(float(values.mean()), 4),
        "sd": round(float(values.std(ddof=1)) if len(values) > 1 else 0.0, 4),
        "p10": round(float(p10), 4),
        "p50": round(float(p50), 4),
        "p90": round(float(p90), 4),
    }


def fit(points: list[Point], kind: str, minimum: int = MINIMUM_POINTS) -> Fit:
    """The fit for one metric kind, or DesignError when fewer than `minimum` points back it."""
    mine = [p for p in points if p.kind == kind and p.achievement is not None]
    if len(mine) < minimum:
        known = sorted({p.kind for p in points})
        raise DesignError(
            f"history has {len(mine)} point(s) for metric kind {kind!r}, at least {minimum} are needed to fit "
            f"(kinds with history: {', '.join(known) or 'none'}); enter this forecast by hand"
        )
    ratios = np.array([p.achievement for p in mine])
    late = np.array([p.days_late for p in mine])
    costs = [p.cost for p in mine if p.cost is not None]
    return Fit(
        kind,
        len(mine),
        _describe(ratios),
        _describe(late),
        round(float(np.mean(late <= 0)), 4),
        round(float(np.mean(costs)), 2) if costs else None,
    )


def _value_distribution(samples: list[float], target: float, higher: bool, shape: str) -> Distribution:
    """Achievement ratios as values of this milestone's metric around its own target."""
    values = [target * r if higher else target / r for r in samples]
    if shape == "normal":
        return Normal(kind="normal", mean=float(np.mean(values)), sd=float(np.std(values, ddof=1)), min=0.0)
    return Empirical(kind="empirical", samples=values)


def forecasts(
    design: Design, points: list[Point], minimum: int = MINIMUM_POINTS
) -> tuple[list[tuple[Distribution, Distribution]], list[dict]]:
    """Every milestone's (value, delay) distributions with `history` ones fitted, and the fits
    (which milestone, which kind, how many points)."""
    resolved, fits = [], []
    for i, m in enumerate(design.milestones):
        pair = []
        for which in ("value", "delay_days"):
            dist = getattr(m.forecast, which)
            if not isinstance(dist, FromHistory):
                pair.append(dist)
                continue
            kind = dist.metric_kind or str(m.spec.get("unit", ""))
            f = fit(points, kind, minimum)
            mine = [p for p in points if p.kind == kind and p.achievement is not None]
            if which == "value":
                terms = document.milestone(design, i)
                target = terms.target / 10 ** m.spec.get("decimals", 0)
                ratios = [p.achievement for p in mine if p.achievement is not None]
                pair.append(_value_distribution(ratios, target, terms.higher_is_better, dist.shape))
            elif dist.shape == "normal":
                pair.append(Normal(kind="normal", mean=f.days_late["mean"], sd=f.days_late["sd"]))
            else:
                pair.append(Empirical(kind="empirical", samples=[p.days_late for p in mine]))
            fits.append({"milestone": i, "forecast": which, "shape": dist.shape, **f.as_json()})
        resolved.append(tuple(pair))
    return resolved, fits
