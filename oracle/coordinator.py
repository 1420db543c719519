"""M-of-N: every node measures independently and signs only the value it measured itself; the
coordinator gathers signatures until the threshold and packs them as the contract expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from attestpay import typed_data
from attestpay.terms import Attestation
from oracle.errors import OracleError, RefusedToSign
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


@dataclass(frozen=True)
class SignedAttestation:
    attestation: Attestation
    signers: tuple[str, ...]  # ascending
    signatures: bytes  # packed, in the signers' order
    refusals: tuple[str, ...] = field(default=())


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

    def cosign(self, attestation: Attestation, request: MeasurementRequest) -> bytes:
        """Sign `attestation` only if this node's own measurement yields exactly it."""
        own = self.propose(request)
        if own.value != attestation.value:
            raise RefusedToSign(f"{self.address} measured {own.value}, not {attestation.value}")
        if own.evidence_hash != attestation.evidence_hash:
            raise RefusedToSign(
                f"{self.address} measured the same value from other evidence "
                f"(0x{own.evidence_hash.hex()} instead of 0x{attestation.evidence_hash.hex()})"
            )
        if own != attestation:
            raise RefusedToSign(f"{self.address}: the attestation's other fields differ from the request")
        return self.signer.sign_attestation(attestation, self.chain_id, self.escrow)


class Coordinator:
    """Drives local `OracleNode`s and `oracle.remote.RemoteNode`s alike."""

    def __init__(self, nodes: list, threshold: int) -> None:
        if not 1 <= threshold <= len(nodes):
            raise OracleError(f"threshold {threshold} needs 1..{len(nodes)} nodes")
        self.nodes, self.threshold = nodes, threshold

    def collect(self, request: MeasurementRequest) -> SignedAttestation:
        """The first node proposes; nodes co-sign until the threshold. Refusals are reported, not hidden."""
        attestation = self.nodes[0].propose(request)
        signed: list[tuple[str, bytes]] = []
        refusals: list[str] = []
        for node in self.nodes:
            try:
                signed.append((node.address, node.cosign(attestation, request)))
            except RefusedToSign as refusal:
                refusals.append(str(refusal))
            if len(signed) == self.threshold:
                break
        if len(signed) < self.threshold:
            raise OracleError(f"only {len(signed)} of {self.threshold} signatures: {'; '.join(refusals)}")
        signed.sort(key=lambda pair: int(pair[0], 16))
        return SignedAttestation(
            attestation, tuple(a for a, _ in signed), typed_data.pack_signatures(signed), tuple(refusals)
        )
