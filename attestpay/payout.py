"""The settlement formula (escrow-semantics.md, steps 1-7), mirroring `libraries/PayoutMath.sol`
line for line. Pure: values in, values out; a differential test keeps it equal to the contract.
"""

from __future__ import annotations

from typing import Protocol

from attestpay.terms import Milestone, Payout

BPS = 10_000  # PayoutMath.BPS: shares and penalties are in basis points of this whole
DAY = 86_400
MAX_MILESTONES = 112  # MilestoneEscrow.MAX_MILESTONES: 2-bit states of them fill one slot


class Targeted(Protocol):
    """Anything with a milestone's target and direction (the signed terms, a stored row)."""

    @property
    def target(self) -> int: ...

    @property
    def higher_is_better(self) -> bool: ...


def compute(m: Milestone, value: int, observed_at: int) -> Payout:
    up = m.higher_is_better

    # 1. earned share of the base amount
    if not reaches(value, m.floor, up):
        earned_bps = 0
    elif reaches(value, m.target, up):
        earned_bps = BPS
    else:
        earned_bps = m.floor_payout_bps + (BPS - m.floor_payout_bps) * distance(m.floor, value, up) // distance(
            m.floor, m.target, up
        )
    # 2. base
    base = m.amount * earned_bps // BPS
    # 3. bonus, linear from target to stretch
    if m.bonus == 0 or reaches(m.target, value, up):
        bonus_earned = 0
    elif reaches(value, m.stretch, up):
        bonus_earned = m.bonus
    else:
        bonus_earned = m.bonus * distance(m.target, value, up) // distance(m.target, m.stretch, up)
    # 4. late penalty, per started day after the deadline
    penalty_bps = min(days_late(m.deadline, observed_at) * m.late_penalty_bps_per_day, m.max_late_penalty_bps)
    # 5. net
    gross = base + bonus_earned
    penalty = gross * penalty_bps // BPS
    net = gross - penalty
    # 6. holdback
    holdback = net * m.holdback_bps // BPS
    paid_now = net - holdback
    # 7. refund to the client
    refund = m.amount + m.bonus - net
    return Payout(earned_bps, base, bonus_earned, penalty_bps, penalty, net, holdback, paid_now, refund)


def meets_target(milestone: Targeted, value: int) -> bool:
    """Whether `value` settles the milestone in full; below it only the provider may accept it."""
    return reaches(value, milestone.target, milestone.higher_is_better)


def dispute_split(disputed: int, provider_share_bps: int) -> tuple[int, int]:
    """(to the provider, back to the client) of a disputed amount, as MilestoneEscrow._split pays it."""
    to_provider = disputed * provider_share_bps // BPS
    return to_provider, disputed - to_provider


def reaches(value: int, mark: int, higher_is_better: bool) -> bool:
    """Whether `value` is at or beyond `mark` in the metric's direction."""
    return value >= mark if higher_is_better else value <= mark


def distance(start: int, end: int, higher_is_better: bool) -> int:
    """|end - start| for `end` at or beyond `start` in the metric's direction."""
    return end - start if higher_is_better else start - end


def days_late(deadline: int, observed_at: int) -> int:
    """Started days between the deadline and the observation; 0 when on time."""
    return 0 if observed_at <= deadline else -(-(observed_at - deadline) // DAY)
