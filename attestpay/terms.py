"""Agreement, milestone and attestation terms, mirroring `libraries/EscrowTypes.sol` field for field.

`as_abi()` gives the tuple web3 passes to the contract; field order is the Solidity struct's.
"""

from __future__ import annotations

from dataclasses import dataclass

ETH = "0x0000000000000000000000000000000000000000"


def _values(obj) -> tuple:
    """Field values in declaration order (dataclasses.astuple deep-copies, which is slow)."""
    return tuple(vars(obj).values())


@dataclass(frozen=True)
class AgreementTerms:
    client: str
    provider: str
    arbiter: str  # ETH (zero address): no arbiter
    token: str  # ETH (zero address): ether
    oracles: tuple[str, ...]  # strictly ascending by address
    threshold: int
    cure_window: int
    revision: int
    docs_hash: bytes
    salt: bytes
    milestones_root: bytes

    def as_abi(self) -> tuple:
        values = _values(self)
        return (*values[:4], list(self.oracles), *values[5:])


@dataclass(frozen=True)
class Milestone:
    amount: int
    bonus: int
    metric_id: bytes
    floor: int
    target: int
    stretch: int
    deadline: int
    holdback_period: int
    floor_payout_bps: int
    late_penalty_bps_per_day: int
    max_late_penalty_bps: int
    holdback_bps: int
    higher_is_better: bool
    requires_client_approval: bool

    def as_abi(self) -> tuple:
        return _values(self)


@dataclass(frozen=True)
class Attestation:
    agreement_id: bytes
    milestone_index: int
    metric_id: bytes
    value: int
    observed_at: int
    evidence_hash: bytes
    expires_at: int

    def as_abi(self) -> tuple:
        return _values(self)


@dataclass(frozen=True)
class Payout:
    """Every figure of one settlement (spec, "Settlement", steps 1-7)."""

    earned_bps: int
    base: int
    bonus_earned: int
    penalty_bps: int
    penalty: int
    net: int
    holdback: int
    paid_now: int
    refund: int
