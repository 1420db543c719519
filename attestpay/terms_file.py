"""The terms file: an agreement in human units ("20,000 mUSD", "2027-01-09", "30d", "10%"),
validated against `schemas/terms.schema.json`, read into a `Deal` with exact base units, unix
times and basis points, and turned into the body of POST /v1/agreements. Shared by the CLI, the
backend (which serves the schema), the demo and design documents that embed a terms file."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import jsonschema_rs
from eth_utils import is_address, to_checksum_address

from attestpay.terms import ETH, Milestone as MilestoneStruct
from attestpay.tokens import ETHER, EXACT, AmountError, Token, TokenRegistry, parse_amount

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "terms.schema.json"
DEFAULT_CURE_WINDOW = 7 * 86_400
_UNIT_SECONDS = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


class TermsError(ValueError):
    """A terms file that cannot be read; the message names the field and what is expected."""


@cache
def schema() -> dict:
    """The terms file's JSON Schema (also published as docs/terms.schema.json, served at GET /v1/terms/schema)."""
    return json.loads(SCHEMA_PATH.read_text())


@dataclass(frozen=True)
class MilestoneDeal:
    title: str
    spec: dict
    amount: int  # base units of the deal's token
    bonus: int
    floor: int  # the metric's value x 10**decimals, as the contract sees it
    target: int
    stretch: int
    deadline: int  # unix seconds
    holdback_period: int
    floor_payout_bps: int
    late_penalty_bps_per_day: int
    max_late_penalty_bps: int
    holdback_bps: int
    requires_client_approval: bool

    @property
    def higher_is_better(self) -> bool:
        return bool(self.spec["higher_is_better"])

    @property
    def decimals(self) -> int:
        return int(self.spec["decimals"])

    def struct(self) -> MilestoneStruct:
        """The escrow's Milestone for `attestpay.payout` (metric id zero: the payout does not read it)."""
        return MilestoneStruct(
            self.amount,
            self.bonus,
            bytes(32),
            self.floor,
            self.target,
            self.stretch,
            self.deadline,
            self.holdback_period,
            self.floor_payout_bps,
            self.late_penalty_bps_per_day,
            self.max_late_penalty_bps,
            self.holdback_bps,
            self.higher_is_better,
            self.requires_client_approval,
        )


@dataclass(frozen=True)
class Deal:
    title: str
    client: str  # an address or a name (resolved by `api_body`)
    provider: str
    arbiter: str | None
    token: Token  # address None: named by symbol, resolved by `api_body`
    oracles: tuple[str, ...]
    threshold: int
    cure_window: int
    documents: tuple[dict, ...]
    milestones: tuple[MilestoneDeal, ...]
    start: int
    names: dict = field(default_factory=dict, compare=False)
    vat: dict | None = None  # the agreed VAT treatment ({"category", "rate"?}); none: auto

    def api_body(self, names: Mapping[str, str] | None = None, tokens: TokenRegistry | None = None) -> dict:
        """The JSON body of POST /v1/agreements: names resolved to addresses through `names`, a token
        named by symbol through `tokens` (whose decimals must match the file's)."""
        names = {k.lower(): v for k, v in (names or {}).items()}

        def address(who: str, role: str) -> str:
            if is_address(who):
                return to_checksum_address(who)
            if who.lower() in names:
                return to_checksum_address(names[who.lower()])
            raise TermsError(
                f"{role}: no address for the name {who!r}: give an address, a wallet name or an address-book entry"
            )

        return {
            "title": self.title,
            "client": address(self.client, "client"),
            "provider": address(self.provider, "provider"),
            "arbiter": address(self.arbiter, "arbiter") if self.arbiter else None,
            "token": None if self.resolved_token(tokens).address == ETH else self.resolved_token(tokens).address,
            "oracles": sorted((address(o, "oracles") for o in self.oracles), key=lambda a: int(a, 16)),
            "threshold": self.threshold,
            "cure_window": self.cure_window,
            "documents": list(self.documents),
            "milestones": [
                {
                    "title": m.title,
                    "spec": m.spec,
                    "amount": str(m.amount),
                    "bonus": str(m.bonus),
                    "floor": str(m.floor),
                    "target": str(m.target),
                    "stretch": str(m.stretch),
                    "deadline": m.deadline,
                    "holdback_period": m.holdback_period,
                    "floor_payout_bps": m.floor_payout_bps,
                    "late_penalty_bps_per_day": m.late_penalty_bps_per_day,
                    "max_late_penalty_bps": m.max_late_penalty_bps,
                    "holdback_bps": m.holdback_bps,
                    "requires_client_approval": m.requires_client_approval,
                }
                for m in self.milestones
            ],
        } | ({"vat": self.vat} if self.vat else {})

    def resolved_token(self, tokens: TokenRegistry | None) -> Token:
        if self.token.address:  # given in the file (else resolved by symbol)
            return self.token
        try:
            known = (tokens or TokenRegistry()).by_symbol(self.token.symbol)
        except AmountError as exc:
            raise TermsError(f"token: {exc}") from None
        if known.decimals != self.token.decimals:
            raise TermsError(
                f"token: {self.token.symbol} has {known.decimals} decimals on this chain, the file says "
                f"{self.token.decimals}"
            )
        return known


def load_terms(source: str | Path | Mapping, now: int | None = None, tokens: TokenRegistry | None = None) -> Deal:
    """A terms file (a path, or its already-parsed JSON) as a Deal. Relative deadlines count from
    the file's `start`, else from `now` (default: the clock; pass the chain's time). A token given
    by address takes its symbol and decimals from `tokens`."""
    base = Path(".")
    if isinstance(source, Mapping):
        document = dict(source)
    else:
        path = Path(source)
        base = path.parent
        document = _json_file(path, str(path))
    _validate(document)
    start = _date(document["start"], "start") if "start" in document else int(now if now is not None else time.time())
    token = _token(document["token"], tokens)
    milestones = tuple(_milestone(m, i, token, start, base) for i, m in enumerate(document["milestones"]))
    if document["threshold"] > len(document["oracles"]):
        raise TermsError(f"threshold: {document['threshold']} signatures of {len(document['oracles'])} oracles")
    return Deal(
        title=document["title"],
        client=document["client"],
        provider=document["provider"],
        arbiter=document.get("arbiter"),
        token=token,
        oracles=tuple(document["oracles"]),
        threshold=document["threshold"],
        cure_window=_duration(document.get("cure_window"), "cure_window", DEFAULT_CURE_WINDOW),
        documents=tuple(document.get("documents", ())),
        milestones=milestones,
        start=start,
        vat=_vat(document.get("vat")),
    )


def _vat(value: dict | None) -> dict | None:
    """The agreed treatment as the API takes it; auto (or none) leaves it to the profiles."""
    if not value or value["category"] == "auto":
        return None
    if "rate" in value and value["category"] != "S":
        raise TermsError(f"vat.rate: a rate goes with category S (standard rated), not {value['category']}")
    return dict(value)


def _validate(document: dict) -> None:
    errors = sorted(
        jsonschema_rs.validator_for(schema()).iter_errors(document), key=lambda e: [str(p) for p in e.instance_path]
    )
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.instance_path) or "(file)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise TermsError(f"{where}: {first.message}{more} (see docs/terms.md)")


def _token(value, tokens: TokenRegistry | None) -> Token:
    if value == "ETH":
        return ETHER
    if isinstance(value, str):  # an address: its symbol and decimals come from the chain or the overrides
        try:
            return (tokens or TokenRegistry.configured()).token(value)
        except AmountError as exc:
            raise TermsError(f"token: {exc}") from None
    address = to_checksum_address(value["address"]) if "address" in value else ""
    return Token(address, value["symbol"], value["decimals"])


def _milestone(m: dict, index: int, token: Token, start: int, base: Path) -> MilestoneDeal:
    where = f"milestones.{index}"
    spec = _spec(m["metric"], f"{where}.metric", base)
    decimals = int(spec["decimals"])
    target = _value(m["target"], decimals, f"{where}.target")
    return MilestoneDeal(
        title=m["title"],
        spec=spec,
        amount=_amount(m["amount"], token, f"{where}.amount"),
        bonus=_amount(m["bonus"], token, f"{where}.bonus") if "bonus" in m else 0,
        floor=_value(m["floor"], decimals, f"{where}.floor") if "floor" in m else target,
        target=target,
        stretch=_value(m["stretch"], decimals, f"{where}.stretch") if "stretch" in m else target,
        deadline=_deadline(m["deadline"], start, f"{where}.deadline"),
        holdback_period=_duration(m.get("holdback_period"), f"{where}.holdback_period", 0),
        floor_payout_bps=_bps(m.get("floor_payout")),
        late_penalty_bps_per_day=_bps(m.get("late_penalty_per_day")),
        max_late_penalty_bps=_bps(m.get("max_late_penalty")),
        holdback_bps=_bps(m.get("holdback")),
        requires_client_approval=bool(m.get("requires_client_approval", False)),
    )


def _spec(value, where: str, base: Path) -> dict:
    if isinstance(value, dict):
        return value
    path = base / value
    spec = _json_file(path, f"the metric spec {path}", f"{where}: ")
    for key in ("decimals", "higher_is_better", "source"):
        if key not in spec:
            raise TermsError(f"{where}: the metric spec {path} has no {key!r} (see docs/oracle.md)")
    return spec


def _json_file(path: Path, what: str, where: str = ""):
    """The JSON in `path`, the file `what` names. One that cannot be read or parsed is a TermsError
    that starts with `where` (the field that named the file, if any)."""
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise TermsError(f"{where}cannot read {what}: {exc.strerror}") from None
    except ValueError as exc:
        raise TermsError(f"{where}{path} is not JSON: {exc}") from None


def _amount(text: str, token: Token, where: str) -> int:
    try:
        return parse_amount(text, token)
    except AmountError as exc:
        raise TermsError(f"{where}: {exc}") from None


def _value(value, decimals: int, where: str) -> int:
    try:
        number = Decimal(str(value).replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise TermsError(f"{where}: {value!r} is not a number in the metric's unit") from None
    scaled = number.scaleb(decimals, context=EXACT)
    if scaled != scaled.to_integral_value():
        raise TermsError(f"{where}: {value} has more than the metric's {decimals} decimals")
    return int(scaled)


def _bps(text: str | None) -> int:
    """ "2.5%" -> 250 basis points (the schema allows two decimals)."""
    return 0 if text is None else int(Decimal(text.strip().removesuffix("%").strip()) * 100)


def _duration(text: str | None, where: str, default: int) -> int:
    if text is None:
        return default
    parts = re.findall(r"([0-9]+)\s*([wdhms])", text)
    if not parts:
        raise TermsError(f"{where}: {text!r} is not a duration: write e.g. '30d', '1d 12h'")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def _date(text: str, where: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TermsError(
            f"{where}: {text!r} is not an ISO date: write e.g. '2027-01-09' or '2027-01-09T21:30Z'"
        ) from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _deadline(text: str, start: int, where: str) -> int:
    return _date(text, where) if re.match(r"^[0-9]{4}-", text) else start + _duration(text, where, 0)
