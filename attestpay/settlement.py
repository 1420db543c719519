"""The escrow's packed settlement, the argument of `settleMilestonePacked` and `settleWithConsents`
(contracts/solidity/libraries/SettlementCodec.sol): every field big-endian at its natural width, no
ABI padding, so a settlement's calldata is mostly the bytes that matter (docs/contracts.md,
"Settlement encoding")."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_bytes, to_checksum_address

from attestpay.terms import AgreementTerms, Attestation, Milestone

SIGNATURE = 65
_HIGHER_IS_BETTER = 1
_REQUIRES_CLIENT_APPROVAL = 2


class MalformedSettlement(ValueError):
    """The bytes are not a packed settlement (truncated, too long, or unknown flags)."""


@dataclass(frozen=True)
class PackedSettlement:
    """A settlement as the escrow reads it: the signed attestation's `milestone_index` and
    `metric_id` are the milestone's."""

    terms: AgreementTerms
    milestone: Milestone
    proof: tuple[bytes, ...]
    attestation: Attestation
    signatures: bytes


def _int(value: int, size: int, signed: bool = False) -> bytes:
    return value.to_bytes(size, "big", signed=signed)


def pack(
    terms: AgreementTerms, milestone: Milestone, proof: list[bytes], attestation: Attestation, signatures: bytes
) -> bytes:
    """The packed settlement. Refuses an attestation of another metric, which the escrow could only
    refuse as signed by strangers (it hashes the milestone's metric)."""
    if attestation.metric_id != milestone.metric_id:
        raise ValueError("the attestation's metricId is not the milestone's")
    if len(signatures) % SIGNATURE:
        raise ValueError(f"signatures are {SIGNATURE} bytes each, not {len(signatures)} in all")
    flags = (_HIGHER_IS_BETTER if milestone.higher_is_better else 0) | (
        _REQUIRES_CLIENT_APPROVAL if milestone.requires_client_approval else 0
    )
    return b"".join(
        [
            to_bytes(hexstr=terms.client),
            to_bytes(hexstr=terms.provider),
            to_bytes(hexstr=terms.arbiter),
            to_bytes(hexstr=terms.token),
            _int(terms.threshold, 1),
            _int(terms.cure_window, 4),
            _int(terms.revision, 4),
            terms.docs_hash,
            terms.salt,
            terms.milestones_root,
            _int(attestation.milestone_index, 1),
            _int(milestone.amount, 16),
            _int(milestone.bonus, 16),
            milestone.metric_id,
            _int(milestone.floor, 32, signed=True),
            _int(milestone.target, 32, signed=True),
            _int(milestone.stretch, 32, signed=True),
            _int(milestone.deadline, 8),
            _int(milestone.holdback_period, 4),
            _int(milestone.floor_payout_bps, 2),
            _int(milestone.late_penalty_bps_per_day, 2),
            _int(milestone.max_late_penalty_bps, 2),
            _int(milestone.holdback_bps, 2),
            _int(flags, 1),
            attestation.agreement_id,
            _int(attestation.value, 32, signed=True),
            _int(attestation.observed_at, 8),
            attestation.evidence_hash,
            _int(attestation.expires_at, 8),
            _int(len(signatures) // SIGNATURE, 1),
            _int(len(terms.oracles), 1),
            _int(len(proof), 1),
            signatures,
            *(to_bytes(hexstr=o) for o in terms.oracles),
            *proof,
        ]
    )


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise MalformedSettlement(f"settlement truncated at byte {self.at} of {len(self.data)}")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def int256(self) -> int:
        return int.from_bytes(self.take(32), "big", signed=True)

    def address(self) -> str:
        return to_checksum_address(self.take(20))


def unpack(data: bytes) -> PackedSettlement:
    """The fields of a packed settlement, as an auditor reads them back from a transaction."""
    r = _Reader(data)
    client, provider, arbiter, token = r.address(), r.address(), r.address(), r.address()
    threshold, cure_window, revision = r.uint(1), r.uint(4), r.uint(4)
    docs_hash, salt, milestones_root = r.take(32), r.take(32), r.take(32)
    index, amount, bonus, metric_id = r.uint(1), r.uint(16), r.uint(16), r.take(32)
    floor, target, stretch = r.int256(), r.int256(), r.int256()
    deadline, holdback_period = r.uint(8), r.uint(4)
    floor_payout_bps, late_penalty_bps_per_day, max_late_penalty_bps, holdback_bps = (r.uint(2) for _ in range(4))
    flags = r.uint(1)
    if flags > _HIGHER_IS_BETTER | _REQUIRES_CLIENT_APPROVAL:
        raise MalformedSettlement(f"unknown milestone flags {flags:#04x}")
    milestone = Milestone(
        amount,
        bonus,
        metric_id,
        floor,
        target,
        stretch,
        deadline,
        holdback_period,
        floor_payout_bps,
        late_penalty_bps_per_day,
        max_late_penalty_bps,
        holdback_bps,
        bool(flags & _HIGHER_IS_BETTER),
        bool(flags & _REQUIRES_CLIENT_APPROVAL),
    )
    agreement_id, value, observed_at, evidence_hash, expires_at = (
        r.take(32),
        r.int256(),
        r.uint(8),
        r.take(32),
        r.uint(8),
    )
    attestation = Attestation(agreement_id, index, metric_id, value, observed_at, evidence_hash, expires_at)
    signature_count, oracle_count, proof_length = r.uint(1), r.uint(1), r.uint(1)
    signatures = r.take(SIGNATURE * signature_count)
    oracles = tuple(r.address() for _ in range(oracle_count))
    terms = AgreementTerms(
        client, provider, arbiter, token, oracles, threshold, cure_window, revision, docs_hash, salt, milestones_root
    )
    proof = tuple(r.take(32) for _ in range(proof_length))
    if r.at != len(data):
        raise MalformedSettlement(f"{len(data) - r.at} bytes after the settlement")
    return PackedSettlement(terms, milestone, proof, attestation, signatures)
