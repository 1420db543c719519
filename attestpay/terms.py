"""Agreement, milestone and attestation terms, mirroring `libraries/EscrowTypes.sol` field for field.

`as_abi()` gives the tuple web3 passes to the contract; field order is the Solidity struct's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import encode_hex, to_bytes

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

    @classmethod
    def with_defaults(
        cls, *, amount: int, metric_id: bytes, floor: int, target: int, deadline: int, **terms: Any
    ) -> Milestone:
        """The one factory for terms built in code (tests, benchmarks, the soak, the demo): the terms
        a caller names, every other at its neutral value (no bonus, stretch = target, no holdback, no
        late penalty, nothing at the floor, higher is better, no client approval). A new term with a
        neutral value then changes no caller."""
        neutral = {
            "bonus": 0,
            "stretch": target,
            "holdback_period": 0,
            "floor_payout_bps": 0,
            "late_penalty_bps_per_day": 0,
            "max_late_penalty_bps": 0,
            "holdback_bps": 0,
            "higher_is_better": True,
            "requires_client_approval": False,
        }
        named = {"amount": amount, "metric_id": metric_id, "floor": floor, "target": target, "deadline": deadline}
        return cls(**(neutral | terms | named))


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

    def to_json(self) -> dict[str, Any]:
        """The attestation on the wire: the EIP-712 message's field names, bytes as 0x-hex. Oracle
        nodes send it, the backend's intake and other nodes read it (`from_json`)."""
        return {
            "agreementId": encode_hex(self.agreement_id),
            "milestoneIndex": self.milestone_index,
            "metricId": encode_hex(self.metric_id),
            "value": self.value,
            "observedAt": self.observed_at,
            "evidenceHash": encode_hex(self.evidence_hash),
            "expiresAt": self.expires_at,
        }

    @classmethod
    def from_json(cls, message: Mapping[str, Any]) -> Attestation:
        """The attestation from its wire form (`to_json`); integers may also come as decimal text."""
        return cls(
            agreement_id=to_bytes(hexstr=message["agreementId"]),
            milestone_index=int(message["milestoneIndex"]),
            metric_id=to_bytes(hexstr=message["metricId"]),
            value=int(message["value"]),
            observed_at=int(message["observedAt"]),
            evidence_hash=to_bytes(hexstr=message["evidenceHash"]),
            expires_at=int(message["expiresAt"]),
        )


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
