"""What the draws mean for each party: per milestone and in total, the mean and P10/P50/P90 of what
the provider is paid (now, and with the holdback), what the client gets back, the penalties; the
band probabilities; the provider's margin after its costs; the client's capital locked month by
month; the monthly cash flow of each party, signed (money in positive). Amounts are base units as
decimal strings, exact; probabilities are shares of the draws."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from attestpay.design import simulate, wide
from attestpay.design.simulate import BANDS, FIGURES, QUANTILES, MilestoneDraws, SimulatedDeal

GATHERED = ("paid_now", "holdback", "penalty", "bonus_earned")  # per draw; the rest follow from them
UNDER = (BANDS.index("below_floor"), BANDS.index("partial"), BANDS.index("late"))


def stats_of_values(values: np.ndarray, counts: np.ndarray, n: int, shift: int = 0) -> dict:
    """Exact mean (rounded down) and quantiles of a figure taking wide `values[k]` in `counts[k]`
    draws, plus a constant."""
    order = np.lexsort((values[:, 0], values[:, 1], values[:, 2]))
    cumulative = np.cumsum(counts[order])
    picks = [order[int(np.searchsorted(cumulative, max(1, math.ceil(q * n))))] for q in QUANTILES]
    mean = wide.weighted_total(values, counts) // n + shift
    return {
        "mean": str(mean),
        **{f"p{round(q * 100)}": str(wide.to_int(values[k]) + shift) for q, k in zip(QUANTILES, picks, strict=True)},
    }


def stats_of_draws(a: np.ndarray) -> dict:
    """Exact mean (rounded down) and quantiles of per-draw wide values."""
    quantiles = wide.quantiles(a, QUANTILES)
    return {
        "mean": str(wide.total(a) // len(a)),
        **{f"p{round(q * 100)}": str(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
    }


def risk(draws: MilestoneDraws, counts: np.ndarray, n: int) -> tuple[int, int]:
    """Who bears under-delivery (below floor, partial or late), in expected base units: the
    provider what it is not paid of the amount, the client what it pays for it anyway."""
    under = np.isin(draws.bands, UNDER)
    amount = draws.plan.terms.amount
    shortfall = wide.normalise(wide.split([amount]) - draws.figures["paid"][under])
    shortfall[shortfall[:, 2] < 0] = 0  # a bonus earned late: paid beyond the amount, nothing short
    provider = wide.weighted_total(shortfall, counts[under])
    client = amount * int(counts[under].sum()) - provider
    return provider // n, client // n


def summarise(deal: SimulatedDeal, all_draws: list[MilestoneDraws], seed: int) -> dict:
    n = len(all_draws[0].rel)
    totals = {name: np.zeros((n, 3), dtype=np.int64) for name in GATHERED}
    milestones, bands_total = [], np.zeros(len(BANDS))
    provider_risk = client_risk = 0
    per_draw = []
    for draws in all_draws:
        plan, counts = draws.plan, np.bincount(draws.key, minlength=draws.keys)
        gathered = {name: np.take(draws.figures[name], draws.key, axis=0) for name in GATHERED}
        for name in GATHERED:
            totals[name] += gathered[name]
        per_draw.append(
            gathered | settlement_times(deal, draws) | {"full": wide.split([plan.terms.amount + plan.terms.bonus])[0]}
        )
        band_counts = np.bincount(draws.bands.astype(np.int64), weights=counts, minlength=len(BANDS))
        bands_total += band_counts
        cost = sum(c.amount for c in plan.costs)
        bears = risk(draws, counts, n)
        provider_risk, client_risk = provider_risk + bears[0], client_risk + bears[1]
        milestones.append(
            {
                "title": plan.title,
                "amount": str(plan.terms.amount),
                "bonus": str(plan.terms.bonus),
                "deadline": plan.terms.deadline,
                "bands": {b: float(c / n) for b, c in zip(BANDS, band_counts, strict=True)},
                **{name: stats_of_values(draws.figures[name], counts, n) for name in FIGURES},
                "cost": str(cost),
                "margin": stats_of_values(draws.figures["paid"], counts, n, -cost),
                "risk": _shares(*bears),
            }
        )
    full = sum(p.terms.amount + p.terms.bonus for p in deal.plans)
    totals["paid"] = totals["paid_now"] + totals["holdback"]
    totals["refund"] = wide.split([full]) - totals["paid"]  # every draw: paid now + holdback + refund == amount + bonus
    for a in totals.values():
        wide.normalise(a)
    costs = sum(c.amount for p in deal.plans for c in p.costs)
    months, flows = cash_flow(deal, per_draw, n)
    total_stats = {name: stats_of_draws(totals[name]) for name in FIGURES}
    margin = {k: str(int(v) - costs) for k, v in total_stats["paid"].items()}  # costs are certain: same order
    return {
        "title": deal.title,
        "draws": n,
        "seed": seed,
        "token": {"symbol": deal.token.symbol, "decimals": deal.token.decimals},
        "start": deal.start,
        "milestones": milestones,
        "total": {
            "amount": str(sum(p.terms.amount for p in deal.plans)),
            "bonus": str(sum(p.terms.bonus for p in deal.plans)),
            "outcomes": {b: float(c / (n * len(all_draws))) for b, c in zip(BANDS, bands_total, strict=True)},
            **total_stats,
            "risk": _shares(provider_risk, client_risk),
        },
        "provider": {
            "costs": str(costs),
            "margin": margin,
            "probability_of_loss": float(np.count_nonzero(wide.less_than(totals["paid"], costs)) / n),
        },
        "client": {"max_exposure": str(full), "locked": flows.pop("locked"), "paid": total_stats["paid"]},
        "cash_flow": [
            {"month": month, "client": c, "provider": p}
            for month, c, p in zip(months, flows["client"], flows["provider"], strict=True)
        ],
    }


def settlement_times(deal: SimulatedDeal, draws: MilestoneDraws) -> dict[str, np.ndarray]:
    """When each draw settles (the client's reclaim just after the cure window; a flat fee at the
    start) and when its holdback is released."""
    m = draws.plan.terms
    if draws.plan.pinned == "upfront":
        settled_at = np.full(len(draws.key), deal.start, dtype=np.int64)
    else:
        settled_at = np.where(draws.reclaimed, m.deadline + deal.cure_window + 1, m.deadline + draws.seconds_late)
    return {"settled_at": settled_at, "released_at": settled_at + m.holdback_period}


def _shares(provider: int, client: int) -> dict:
    whole = provider + client
    return {
        "provider_bears": str(provider),
        "client_bears": str(client),
        "provider_share": None if whole == 0 else round(provider / whole, 4),
    }


def _month_starts(first: int, count: int) -> np.ndarray:
    """Unix seconds at which each month begins (UTC), from month `first` (months since 1970-01)."""
    return np.arange(first, first + count + 1).astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)


def cash_flow(deal: SimulatedDeal, per_draw: list[dict[str, np.ndarray]], n: int) -> tuple[list[str], dict]:
    """Per calendar month (UTC) from the start: each party's net flow and the client's capital
    still locked in the escrow at the month's end, as exact quantiles over the draws.
    `per_draw`: per milestone, the settlement time and each figure of every draw."""
    first = int(np.datetime64(deal.start, "s").astype("datetime64[M]").astype(np.int64))
    costs = [(c.at, c.amount) for p in deal.plans for c in p.costs]
    last = max(
        [int(d["released_at"].max()) for d in per_draw]
        + [int(d["settled_at"].max()) for d in per_draw]
        + [at for at, _ in costs]
    )
    starts = _month_starts(first, 12 * 100)
    span = max(1, int(np.searchsorted(starts, last, side="right")))
    starts = starts[: span + 1]

    def month_of(at: np.ndarray) -> np.ndarray:
        return np.maximum(np.searchsorted(starts, at, side="right") - 1, 0)  # before the start: its month

    flat_provider, flat_client = np.zeros((span * n, 3), dtype=np.int64), np.zeros((span * n, 3), dtype=np.int64)
    rows = np.arange(n)
    for d in per_draw:
        settled = month_of(d["settled_at"]) * n + rows
        flat_provider[settled] += d["paid_now"]
        flat_provider[month_of(d["released_at"]) * n + rows] += d["holdback"]
        flat_client[settled] += d["full"] - d["paid_now"] - d["holdback"]
    provider, client = flat_provider.reshape(span, n, 3), flat_client.reshape(span, n, 3)
    locked = wide.split([sum(p.terms.amount + p.terms.bonus for p in deal.plans)])[0] - np.cumsum(
        provider + client, axis=0
    )
    for at, amount in costs:
        provider[int(month_of(np.asarray([at]))[0])] -= wide.split([amount])[0]
    client[0] -= wide.split([sum(p.terms.amount + p.terms.bonus for p in deal.plans)])[0]
    for a in (provider, client, locked):
        wide.normalise(a)
    labels = [_label(first + i) for i in range(span)]
    return labels, {
        "provider": [stats_of_draws(provider[i]) for i in range(span)],
        "client": [stats_of_draws(client[i]) for i in range(span)],
        "locked": [{"month": labels[i], **stats_of_draws(locked[i])} for i in range(span)],
    }


def _label(month: int) -> str:
    return datetime(1970 + month // 12, month % 12 + 1, 1, tzinfo=UTC).strftime("%Y-%m")


def run(deal: SimulatedDeal, draws: int = 20_000, seed: int = 23) -> dict:
    """Draw and summarise."""
    return summarise(deal, simulate.draw(deal, draws, seed), seed)
