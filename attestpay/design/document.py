"""The deal design document: the terms file (the JSON body of POST /v1/agreements) plus the
billing canvas around it: stakeholders and their roles per milestone, the value statement, who
controls the metric's source, key activities, forecasts, and the provider's private costs.

Amounts, dates and durations come in the API's form (base units, unix seconds) or as people write
them ("20,000 mUSD", "2027-03-01", "30d"; `attestpay.design.units`). `terms()` is what leaves the
provider's hands: the API's body, every design-only field (costs above all) left out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from attestpay import payout
from attestpay.design import DesignError, units
from attestpay.design.distributions import Fixed, Forecastable
from attestpay.terms import Milestone

BPS_FIELDS = ("floor_payout_bps", "late_penalty_bps_per_day", "max_late_penalty_bps", "holdback_bps")
AGREEMENT_TERMS = (
    "title",
    "client",
    "provider",
    "arbiter",
    "token",
    "oracles",
    "threshold",
    "cure_window",
    "documents",
)
MILESTONE_TERMS = (
    "title",
    "spec",
    "amount",
    "bonus",
    "floor",
    "target",
    "stretch",
    "deadline",
    "holdback_period",
    *BPS_FIELDS,
    "requires_client_approval",
)

Amount = int | str
Moment = int | str
ScaledValue = int | str  # the metric's value times 10**decimals, as the API takes it


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stakeholder(_Doc):
    name: str = Field(min_length=1)
    organisation: str = ""
    side: Literal["client", "provider", "independent"]
    title: str = ""


class Roles(_Doc):
    """Stakeholder names (canvas step 1): who approves the milestone, who validates the measured
    performance, who authorizes the payment."""

    approves: list[str] = Field(default_factory=list)
    validates: list[str] = Field(default_factory=list)
    authorizes: list[str] = Field(default_factory=list)


class Cost(_Doc):
    amount: Amount
    incurred: Moment = Field(description="when the provider pays it: unix seconds or an ISO date")
    what: str = ""


class Private(_Doc):
    """The provider's own: never in the terms, never on-chain, never sent to the counterparty."""

    costs: list[Cost] = Field(default_factory=list)


class Forecast(_Doc):
    value: Forecastable = Field(description="the metric's value in its own units (0.93 for 93%)")
    delay_days: Forecastable = Field(
        default=Fixed(kind="fixed", value=0), description="days after the deadline the value is measured (<0: early)"
    )


class DesignMilestone(_Doc):
    title: str = Field(min_length=1, max_length=200)
    spec: dict[str, Any] = Field(
        description="the oracle's metric spec (oracle/spec.py); `source` says how it is measured"
    )
    amount: Amount
    bonus: Amount = 0
    floor: ScaledValue
    target: ScaledValue
    stretch: ScaledValue | None = Field(default=None, description="default: the target (no bonus range)")
    deadline: Moment
    holdback_period: int | str = 0
    floor_payout_bps: int = 0
    late_penalty_bps_per_day: int = 0
    max_late_penalty_bps: int = 0
    holdback_bps: int = 0
    requires_client_approval: bool = False
    # the canvas
    value_statement: str = Field(default="", description="what success at this stage is worth to the client")
    roles: Roles = Field(default_factory=Roles)
    source_owner: Literal["client", "provider", "shared", "independent"] | None = Field(
        default=None, description="who controls the data the metric is measured from"
    )
    activities: list[str] = Field(default_factory=list, description="key activities and resources (canvas step 5)")
    private: Private = Field(default_factory=Private)
    forecast: Forecast


class TokenUnits(_Doc):
    symbol: str = Field(min_length=1, max_length=12)
    decimals: int = Field(ge=0, le=36)


class LintConfig(_Doc):
    max_milestones: int = Field(default=8, ge=1)
    min_milestone_share: float = Field(default=0.05, ge=0, le=1, description="of the deal's total amount")
    max_cash_gap_days: int = Field(default=45, ge=0, description="costs paid this long before receipts cover them")
    near_certain: float = Field(default=0.97, gt=0, le=1, description="P(target) above this: a threshold too easy")
    near_impossible: float = Field(default=0.03, ge=0, lt=1, description="P(floor) or P(stretch) below this")
    high_risk: float = Field(default=0.3, ge=0, le=1, description="P(below target or late) above this: high risk")


class Alternative(_Doc):
    """A variant of the billing rules to compare: `changes` to every milestone's terms."""

    name: str = Field(min_length=1)
    changes: dict[str, int | str | bool]


class Design(_Doc):
    design: Literal[1] = Field(description="the format's version")
    title: str = Field(min_length=1, max_length=200)
    client: str
    provider: str
    arbiter: str | None = None
    token: str | None = None
    oracles: list[str] = Field(min_length=1)
    threshold: int = Field(ge=1, le=16)
    cure_window: int | str = 7 * 86_400
    documents: list[dict[str, Any]] = Field(default_factory=list)
    milestones: list[DesignMilestone] = Field(min_length=1, max_length=112)
    # the canvas
    token_units: TokenUnits
    start: Moment = Field(description="when the client funds the escrow and work begins")
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    lint: LintConfig = Field(default_factory=LintConfig)
    alternatives: list[Alternative] = Field(default_factory=list)


def load(document: dict | str) -> Design:
    """A design from its JSON text or parsed object; errors name the offending field."""
    try:
        design = Design.model_validate_json(document) if isinstance(document, str) else Design.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DesignError(f"{where}: {first['msg']}{more}") from None
    names = {s.name for s in design.stakeholders}
    for i, m in enumerate(design.milestones):
        milestone(design, i)  # every amount, date and threshold readable, the thresholds in order
        costs(design, i)
        for role, people in m.roles:
            unknown = [p for p in people if p not in names]
            if unknown:
                raise DesignError(f"milestones.{i}.roles.{role}: {', '.join(unknown)} not among the stakeholders")
    start(design), cure_window(design)
    return design


def schema() -> dict:
    """The JSON Schema of the design document (docs/design.schema.json is this, committed)."""
    return Design.model_json_schema()


@dataclass(frozen=True)
class Costs:
    amount: int
    at: int
    what: str


def milestone(design: Design, index: int) -> Milestone:
    """The milestone's terms in the escrow's own form (metric id left zero: the simulation needs none)."""
    m, tok = design.milestones[index], design.token_units
    where = f"milestones.{index}"
    scaled = {k: _scaled(getattr(m, k), f"{where}.{k}") for k in ("floor", "target")}
    stretch = scaled["target"] if m.stretch is None else _scaled(m.stretch, f"{where}.stretch")
    higher = m.spec.get("higher_is_better")
    if not isinstance(higher, bool):
        raise DesignError(f"{where}.spec.higher_is_better: true or false")
    terms = Milestone(
        amount=units.amount(m.amount, tok.decimals, tok.symbol, f"{where}.amount"),
        bonus=units.amount(m.bonus, tok.decimals, tok.symbol, f"{where}.bonus"),
        metric_id=bytes(32),
        floor=scaled["floor"],
        target=scaled["target"],
        stretch=stretch,
        deadline=units.timestamp(m.deadline, f"{where}.deadline"),
        holdback_period=units.duration(m.holdback_period, f"{where}.holdback_period"),
        floor_payout_bps=m.floor_payout_bps,
        late_penalty_bps_per_day=m.late_penalty_bps_per_day,
        max_late_penalty_bps=m.max_late_penalty_bps,
        holdback_bps=m.holdback_bps,
        higher_is_better=higher,
        requires_client_approval=m.requires_client_approval,
    )
    check_terms(terms, where)
    return terms


def check_terms(m: Milestone, where: str) -> None:
    """The escrow's own rules on a milestone's terms (escrow-semantics.md), so nothing is simulated
    that the escrow would refuse."""
    if m.amount == 0:
        raise DesignError(f"{where}.amount: must be above zero")
    for name in BPS_FIELDS:
        if not 0 <= getattr(m, name) <= payout.BPS:
            raise DesignError(f"{where}.{name}: {getattr(m, name)} is outside 0..10000")
    up = m.higher_is_better
    if not (payout.reaches(m.target, m.floor, up) and payout.reaches(m.stretch, m.target, up)):
        order = "floor <= target <= stretch" if up else "floor >= target >= stretch (lower is better)"
        raise DesignError(f"{where}: needs {order}, got {m.floor}, {m.target}, {m.stretch}")
    if m.bonus > 0 and m.stretch == m.target:
        raise DesignError(f"{where}.stretch: a bonus needs a stretch beyond the target")


def _scaled(value: int | str, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise DesignError(f"{field}: {value!r} is not an integer (the value times 10**decimals, as the API takes it)")
    return int(text)


def start(design: Design) -> int:
    return units.timestamp(design.start, "start")


def cure_window(design: Design) -> int:
    return units.duration(design.cure_window, "cure_window")


def costs(design: Design, index: int) -> list[Costs]:
    tok = design.token_units
    where = f"milestones.{index}.private.costs"
    return [
        Costs(
            units.amount(c.amount, tok.decimals, tok.symbol, f"{where}.{j}.amount"),
            units.timestamp(c.incurred, f"{where}.{j}.incurred"),
            c.what,
        )
        for j, c in enumerate(design.milestones[index].private.costs)
    ]


def terms(design: Design) -> dict:
    """The body of POST /v1/agreements in the API's own form: only the terms, nothing private
    (costs), nothing of the canvas. This, and only this, goes to the counterparty and the chain."""
    body = {k: getattr(design, k) for k in AGREEMENT_TERMS}
    body["cure_window"] = cure_window(design)
    body["milestones"] = []
    for i, m in enumerate(design.milestones):
        t = milestone(design, i)
        body["milestones"].append(
            {
                "title": m.title,
                "spec": m.spec,
                "amount": str(t.amount),
                "bonus": str(t.bonus),
                "floor": str(t.floor),
                "target": str(t.target),
                "stretch": str(t.stretch),
                "deadline": t.deadline,
                "holdback_period": t.holdback_period,
                **{k: getattr(t, k) for k in BPS_FIELDS},
                "requires_client_approval": t.requires_client_approval,
            }
        )
    return json.loads(json.dumps(body))


def shareable(design: Design) -> dict:
    """The canvas as the counterparty may see it: everything but the provider's private section."""
    document = design.model_dump(mode="json", exclude_defaults=False)
    for m in document["milestones"]:
        m.pop("private", None)
    return document
