"""One oracle node: measures independently and signs only what it measured itself. M-of-N is the
backend's fan-out (`backend.engine.fanout`): every node is asked to measure at one observation
time, so that nodes which see the same evidence sign the same attestation (one digest), and the
backend's intake gathers their signatures until the threshold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from attestpay.terms import Attestation
from oracle.evidence import EvidenceStore
from oracle.measure import Measurement, measure
from oracle.signer import OracleSigner
from oracle.spec import MetricSpec


@dataclass(frozen=True)
class MeasurementRequest:
    agreement_id: bytes
    milestone_index: int
    spec: MetricSpec
    observed_at: int
    expires_at: int


class OracleNode:
    """One oracle: its own key, its own view of the data, its own evidence store."""

    def __init__(self, signer: OracleSigner, data_root: Path, store: EvidenceStore, chain_id: int, escrow: str) -> None:
        self.signer, self.data_root, self.store = signer, Path(data_root), store
        self.chain_id, self.escrow = chain_id, escrow

    @property
    def address(self) -> str:
        return self.signer.address

    def measure(self, request: MeasurementRequest) -> Measurement:
        return measure(request.spec, self.data_root, self.store, request.observed_at)

    def propose(self, request: MeasurementRequest) -> Attestation:
        """The attestation of what this node measured."""
        return self.attestation(request, self.measure(request))

    @staticmethod
    def attestation(request: MeasurementRequest, m: Measurement) -> Attestation:
        return Attestation(
            request.agreement_id,
            request.milestone_index,
            request.spec.metric_id,
            m.value,
            m.observed_at,
            m.evidence_hash,
            request.expires_at,
        )
