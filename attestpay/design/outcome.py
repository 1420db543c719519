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
from attestpay.design.simulate import BANDS, FIGURES, QUANTILES, Deal, MilestoneDraws

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
    paid = [wide.to_int(row) for row in draws.figures["paid"][under]]
    weights = counts[under].tolist()
    provider = sum(max(0, amount - p) * c for p, c in zip(paid, weights, strict=True))
    client = sum(min(p, amount) * c for p, c in zip(paid, weights, strict=True))
    return provider // n, client // n


def summarise(deal: Deal, all_draws: list[MilestoneDraws], seed: int) -> dict:
    n = len(all_draws[0].rel)
    totals = {name: np.zeros((n, 3), dtype=np.int64) for name in FIGURES}
    milestones, bands_total = [], np.zeros(len(BANDS))
    provider_risk = client_risk = 0
    for draws in all_draws:
        plan, counts = draws.plan, np.bincount(draws.key, minlength=draws.keys)
        for name in FIGURES:
            totals[name] += draws.figures[name][draws.key]
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
    for a in totals.values():
        wide.normalise(a)
    full = sum(p.terms.amount + p.terms.bonus for p in deal.plans)
    conserved = totals["paid_now"] + totals["holdback"] + totals["refund"]
    wide.normalise(conserved)
    if not (conserved == wide.split([full])[0]).all():
        raise AssertionError("a draw where paid now + holdback + refund != amount + bonus")
    costs = sum(c.amount for p in deal.plans for c in p.costs)
    months, flows = cash_flow(deal, all_draws, n)
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
        "invariant": {"draws_checked": n, "paid_now_plus_holdback_plus_refund_equals_amount_plus_bonus": True},
    }


def _shares(provider: int, client: int) -> dict:
    whole = provider + client
    return {
        "provider_bears": str(provider),
        "client_bears": str(client),
        "provider_share": None if whole == 0 else round(provider / whole, 4),
    }


def _month(unix: np.ndarray | int) -> np.ndarray:
    """Months since 1970-01 (UTC)."""
    return np.asarray(unix, dtype="datetime64[s]").astype("datetime64[M]").astype(np.int64)


def cash_flow(deal: Deal, all_draws: list[MilestoneDraws], n: int) -> tuple[list[str], dict]:
    """Per calendar month (UTC) from the start: each party's net flow and the client's capital
    still locked in the escrow at the month's end, as exact quantiles over the draws."""
    first = int(_month(deal.start))
    events = []  # (month per draw, wide per draw, who: provider receives / client receives)
    for draws in all_draws:
        plan, m = draws.plan, draws.plan.terms
        settled_at = np.where(draws.reclaimed, m.deadline + deal.cure_window + 1, m.deadline + draws.seconds_late)
        if plan.pinned == "upfront":
            settled_at = np.full(n, deal.start)
        released_at = settled_at + m.holdback_period
        events.append((_month(settled_at) - first, draws.figures["paid_now"][draws.key], "provider"))
        events.append((_month(released_at) - first, draws.figures["holdback"][draws.key], "provider"))
        events.append((_month(settled_at) - first, draws.figures["refund"][draws.key], "client"))
    cost_months = [(int(_month(c.at)) - first, c.amount) for p in deal.plans for c in p.costs]
    span = 1 + max([int(e[0].max()) for e in events] + [m for m, _ in cost_months] + [0])
    received = {who: _by_month([e for e in events if e[2] == who], n, span) for who in ("provider", "client")}
    out_of_escrow = received["provider"] + received["client"]
    funded = sum(p.terms.amount + p.terms.bonus for p in deal.plans)
    locked = np.cumsum(out_of_escrow, axis=1)
    locked = wide.split([funded])[0] - locked
    wide.normalise(locked)
    provider = received["provider"].copy()
    for month, amount in cost_months:
        provider[:, max(month, 0)] -= wide.split([amount])[0]  # costs before the start count in its month
    client = received["client"].copy()
    client[:, 0] -= wide.split([funded])[0]
    for a in (provider, client):
        wide.normalise(a)
    labels = [_label(first + i) for i in range(span)]
    return labels, {
        "provider": [stats_of_draws(provider[:, i]) for i in range(span)],
        "client": [stats_of_draws(client[:, i]) for i in range(span)],
        "locked": [{"month": labels[i], **stats_of_draws(locked[:, i])} for i in range(span)],
    }


def _by_month(events: list, n: int, span: int) -> np.ndarray:
    """Per draw and month, the sum of the events' amounts (exact: limb sums stay below 2**53)."""
    index = np.concatenate([np.arange(n) * span + months for months, _, _ in events])
    out = np.empty((n, span, 3), dtype=np.int64)
    for limb in range(3):
        weights = np.concatenate([values[:, limb] for _, values, _ in events]).astype(np.float64)
        out[:, :, limb] = np.bincount(index, weights=weights, minlength=n * span).astype(np.int64).reshape(n, span)
    return wide.normalise(out)


def _label(month: int) -> str:
    return datetime(1970 + month // 12, month % 12 + 1, 1, tzinfo=UTC).strftime("%Y-%m")


def run(deal: Deal, draws: int = 20_000, seed: int = 23) -> dict:
    """Draw and summarise."""
    return summarise(deal, simulate.draw(deal, draws, seed), seed)
