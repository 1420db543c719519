"""Agreement terms from the database to the escrow's structs, checked by the escrow's own rules
first so that a mistake is named before anyone pays gas. Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TypeVar

from eth_utils import keccak

from attestpay import payout, typed_data
from attestpay.terms import ETH, AgreementTerms, Milestone
from backend.db.models import Agreement, MilestoneRecord
from backend.errors import InvalidInput

MAX_ORACLES = 16
T = TypeVar("T")


def _bytes(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


def _from_row(struct: type[T], row: object, **converted: object) -> T:
    """`struct` with every field copied from the row's attribute of the same name, except those given
    converted: a terms field added later needs no change here."""
    return struct(**{f.name: getattr(row, f.name) for f in fields(struct) if f.name not in converted}, **converted)


def milestone_terms(m: MilestoneRecord) -> Milestone:
    return _from_row(Milestone, m, metric_id=_bytes(m.metric_id))


def agreement_terms(a: Agreement) -> AgreementTerms:
    milestones = [milestone_terms(m) for m in a.milestones]
    return _from_row(
        AgreementTerms,
        a,
        oracles=tuple(a.oracles),
        docs_hash=_bytes(a.docs_hash),
        salt=_bytes(a.salt),
        milestones_root=typed_data.milestones_root(milestones),
    )


def docs_hash(title: str, documents: list[dict], milestones: list[tuple[str, bytes]], vat: dict | None = None) -> bytes:
    """keccak256 of the canonical JSON of everything only people read: the title, the documents'
    names and hashes, each milestone's title with its metric id (the hash of its spec) and the agreed
    VAT treatment. Both parties' EIP-712 consent covers it (docsHash is in the terms); terms that
    leave VAT to the profiles hash without the key, as they did before it existed."""
    body = {
        "title": title,
        "documents": documents,
        "milestones": [{"title": t, "metricId": "0x" + mid.hex()} for t, mid in milestones],
    } | ({"vat": vat} if vat else {})
    return keccak(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def check_agreement(a: Agreement, now: int) -> None:
    """The escrow's `_create` checks, in its order, as InvalidInput naming the field."""
    if a.client == a.provider or ETH in (a.client, a.provider):
        raise InvalidInput("client and provider must be two different, non-zero addresses", field="provider")
    if a.arbiter != ETH and a.arbiter in (a.client, a.provider):
        raise InvalidInput("the arbiter cannot be the client or the provider", field="arbiter")
    if not 1 <= a.threshold <= len(a.oracles) <= MAX_ORACLES:
        raise InvalidInput(
            f"threshold {a.threshold} needs 1..{MAX_ORACLES} oracles, at least as many as the threshold",
            field="threshold",
        )
    if len(set(a.oracles)) != len(a.oracles):
        raise InvalidInput("an oracle is listed twice", field="oracles")
    if not 1 <= len(a.milestones) <= payout.MAX_MILESTONES:
        raise InvalidInput(f"an agreement has 1..{payout.MAX_MILESTONES} milestones", field="milestones")
    for m in a.milestones:
        check_milestone(m, now)


def check_milestone(m: MilestoneRecord, now: int) -> None:
    where = f"milestones.{m.index}"
    if m.amount <= 0:
        raise InvalidInput(f"milestone {m.index}: amount must be positive", field=f"{where}.amount")
    up = m.higher_is_better
    if not payout.reaches(m.target, m.floor, up) or not payout.reaches(m.stretch, m.target, up):
        order = "floor <= target <= stretch" if up else "floor >= target >= stretch (lower is better)"
        raise InvalidInput(f"milestone {m.index}: thresholds must be ordered {order}", field=f"{where}.target")
    if m.bonus > 0 and m.stretch == m.target:
        raise InvalidInput(f"milestone {m.index}: a bonus needs a stretch beyond the target", field=f"{where}.stretch")
    if m.deadline <= now:
        raise InvalidInput(
            f"milestone {m.index}: the deadline {m.deadline} is not after now ({now})", field=f"{where}.deadline"
        )
