"""What deal design needs from the backend's world: the oracle's view of a metric spec (can it be
measured as written?) and the portfolio's own settled milestones as history. Pure: no I/O."""

from __future__ import annotations

import json

from attestpay import payout
from attestpay.design.history import Point, achievement
from backend.db.models import Agreement
from oracle.errors import SpecError
from oracle.spec import load_spec


def metric_problem(spec: dict) -> str | None:
    """Why the oracle could not measure this spec as written, or None."""
    try:
        load_spec(json.dumps(spec))
    except SpecError as exc:
        return str(exc)
    return None


def history_points(agreements: list[Agreement]) -> list[Point]:
    """Every settled milestone as a history point: its metric kind (the spec's unit), the settled
    value against the target, days from the deadline to the observation (negative: early)."""
    return [
        Point(
            str(m.spec.get("unit", "")),
            achievement(m.settled_value, m.target, m.higher_is_better),
            (m.settled_observed_at - m.deadline) / payout.DAY,
            source=f"agreement {a.id} milestone {m.index}",
        )
        for a in agreements
        for m in a.milestones
        if m.status == "settled" and m.settled_value is not None and m.settled_observed_at is not None
    ]
