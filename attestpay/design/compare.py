"""The deal beside other ways to bill the same work, on the very same simulated outcomes: a flat
fee paid up front, pure milestones (paid in full on delivery, no performance link), and variants
of the floor, target, stretch and holdback; who bears the risk of under-delivery in each."""

from __future__ import annotations

import dataclasses

from attestpay.design import DesignError, outcome, units
from attestpay.design.document import BPS_FIELDS, Design
from attestpay.design.simulate import Plan, SimulatedDeal

NO_LINK = {"bonus": 0, "late_penalty_bps_per_day": 0, "max_late_penalty_bps": 0, "holdback_bps": 0}


def _each(deal: SimulatedDeal, change) -> SimulatedDeal:
    return dataclasses.replace(deal, plans=tuple(change(p) for p in deal.plans))


def _terms(p: Plan, **changes) -> Plan:
    return dataclasses.replace(p, terms=dataclasses.replace(p.terms, **changes))


def _toward(start: int, end: int, share: float) -> int:
    return start + int((end - start) * share)


def structures(design: Design, deal: SimulatedDeal) -> list[tuple[str, str, SimulatedDeal]]:
    """(name, what it changes, deal) for every structure compared."""
    flat = _each(deal, lambda p: dataclasses.replace(_terms(p, stretch=p.terms.target, **NO_LINK), pinned="upfront"))
    pure = _each(deal, lambda p: dataclasses.replace(_terms(p, stretch=p.terms.target, **NO_LINK), pinned="delivery"))
    out = [
        ("as designed", "the terms of this design", deal),
        ("flat fee", "every amount paid at the start, whatever happens", flat),
        ("pure milestones", "each amount paid in full when delivered, no performance link", pure),
        ("no holdback", "holdback 0%", _each(deal, lambda p: _terms(p, holdback_bps=0))),
        (
            "holdback 10%",
            "10% held for 30 days",
            _each(
                deal, lambda p: _terms(p, holdback_bps=1_000, holdback_period=max(p.terms.holdback_period, 30 * 86_400))
            ),
        ),
        ("floor pays nothing", "0% of the amount at the floor", _each(deal, lambda p: _terms(p, floor_payout_bps=0))),
        (
            "floor raised",
            "floor halfway to the target",
            _each(deal, lambda p: _terms(p, floor=_toward(p.terms.floor, p.terms.target, 0.5))),
        ),
        (
            "target eased",
            "target a quarter of the way back to the floor",
            _each(deal, lambda p: _terms(p, target=_toward(p.terms.target, p.terms.floor, 0.25))),
        ),
        (
            "no stretch bonus",
            "bonus 0, stretch at the target",
            _each(deal, lambda p: _terms(p, bonus=0, stretch=p.terms.target)),
        ),
    ]
    for alt in design.alternatives:
        out.append(
            (
                alt.name,
                ", ".join(f"{k} {v}" for k, v in alt.changes.items()),
                _each(deal, _changes(deal, alt.changes, alt.name)),
            )
        )
    return out


def _changes(deal: SimulatedDeal, changes: dict, name: str):
    """A design's own alternative: the same change to every milestone's terms."""
    fields = {}
    for key, value in changes.items():
        where = f"alternatives[{name}].{key}"
        if key == "holdback_period":
            fields[key] = units.duration(value, where)
        elif key in BPS_FIELDS and isinstance(value, int) and 0 <= value <= 10_000:
            fields[key] = value
        elif key == "requires_client_approval" and isinstance(value, bool):
            fields[key] = value
        else:
            raise DesignError(
                f"{where}: {value!r} cannot be set for every milestone "
                f"(holdback_period, requires_client_approval, {', '.join(BPS_FIELDS)} 0..10000)"
            )
    return lambda p: _terms(p, **fields)


def compare(design: Design, deal: SimulatedDeal, draws: int, seed: int) -> list[dict]:
    """One row per structure: what each party gets and who bears under-delivery."""
    rows = []
    for name, change, variant in structures(design, deal):
        result = outcome.run(variant, draws, seed)
        total = result["total"]
        rows.append(
            {
                "name": name,
                "change": change,
                "provider_paid": total["paid"],
                "provider_margin": result["provider"]["margin"],
                "provider_probability_of_loss": result["provider"]["probability_of_loss"],
                "client_refund": total["refund"],
                "penalty": total["penalty"],
                "risk": total["risk"],
            }
        )
    return rows
