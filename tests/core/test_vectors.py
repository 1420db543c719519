"""EIP-712 in Python (attestpay.typed_data, eth-account) equals the deployed contract's."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account.messages import _hash_eip191_message, encode_typed_data
from hypothesis import HealthCheck, given, settings, strategies as st

from attestpay import payout, typed_data
from attestpay.terms import Attestation, Milestone
from auditor.history import milestone_of

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "eip712.json").read_text())["cases"]
TYPES = [
    "Agreement",
    "Milestone",
    "MetricAttestation",
    "Amendment",
    "MilestoneApproval",
    "PartialAcceptance",
    "DisputeSplit",
]
GETTERS = {
    "Agreement": "AGREEMENT_TYPEHASH",
    "Milestone": "MILESTONE_TYPEHASH",
    "MetricAttestation": "ATTESTATION_TYPEHASH",
    "Amendment": "AMENDMENT_TYPEHASH",
    "MilestoneApproval": "APPROVAL_TYPEHASH",
    "PartialAcceptance": "PARTIAL_ACCEPTANCE_TYPEHASH",
    "DisputeSplit": "DISPUTE_SPLIT_TYPEHASH",
}

bytes32 = st.binary(min_size=32, max_size=32)
uint64 = st.integers(0, 2**64 - 1)
attestations = st.builds(
    Attestation,
    agreement_id=bytes32,
    milestone_index=st.integers(0, 2**256 - 1),
    metric_id=bytes32,
    value=st.integers(-(2**255), 2**255 - 1),
    observed_at=uint64,
    evidence_hash=bytes32,
    expires_at=uint64,
)


WIDE = ("amount", "bonus", "floor", "target", "stretch", "deadline")  # past JSON's safe integers: decimal text


def _vector_milestone(v: dict) -> Milestone:
    """The vector's milestone: the Solidity struct's field names, as the auditor reads a decoded one."""
    m = v["milestone"]
    return milestone_of(m | {k: int(m[k]) for k in WIDE})


def test_typehashes_and_domain_separator_equal_the_contracts(chain):
    for primary_type in TYPES:
        assert getattr(chain.escrow.functions, GETTERS[primary_type])().call() == typed_data.typehash(primary_type)
    assert chain.escrow.functions.domainSeparator().call() == typed_data.domain_separator(
        chain.chain_id, chain.escrow.address
    )


def test_the_shared_vectors_are_what_the_python_computes():
    """Guards tests/vectors/eip712.json (checked by Foundry too) against drifting from the code."""
    for v in VECTORS:
        m = _vector_milestone(v)
        assert "0x" + typed_data.milestone_leaf(v["milestone"]["index"], m).hex() == v["milestone"]["leaf"]
        a = v["attestation"]
        att = Attestation(
            bytes.fromhex(a["agreementId"][2:]),
            a["milestoneIndex"],
            bytes.fromhex(a["metricId"][2:]),
            int(a["value"]),
            int(a["observedAt"]),
            bytes.fromhex(a["evidenceHash"][2:]),
            int(a["expiresAt"]),
        )
        assert "0x" + typed_data.attestation_digest(att, v["chainId"], v["escrow"]).hex() == a["digest"]
        assert str(payout.compute(m, att.value, att.observed_at).paid_now) == v["payout"]["paidNow"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(att=attestations)
def test_eth_account_digest_equals_the_contracts_for_random_attestations(chain, att):
    message = typed_data.typed_data(
        "MetricAttestation", typed_data.attestation_message(att), chain.chain_id, chain.escrow.address
    )
    from_eth_account = _hash_eip191_message(encode_typed_data(full_message=message))
    from_contract = chain.escrow.functions.attestationDigest(att.as_abi()).call()
    assert from_eth_account == from_contract == typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
