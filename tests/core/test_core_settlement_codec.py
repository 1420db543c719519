"""`settleMilestonePacked`'s argument: what attestpay.settlement writes reads back field for field,
the escrow's fixed offsets hold, and bytes that are not a settlement are refused. That the escrow
reads the same bytes is shown by every settlement the other suites send through it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import to_checksum_address
from hypothesis import given, strategies as st

from attestpay import settlement
from attestpay.terms import AgreementTerms, Attestation, Milestone

INT256 = st.integers(-(2**255), 2**255 - 1)
HASH = st.binary(min_size=32, max_size=32)
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


def _u(bits: int):
    return st.integers(0, 2**bits - 1)


@st.composite
def settlements(draw):
    oracles = tuple(sorted(draw(st.lists(ADDRESS, min_size=1, max_size=16, unique=True)), key=lambda a: int(a, 16)))
    terms = AgreementTerms(
        draw(ADDRESS), draw(ADDRESS), draw(ADDRESS), draw(ADDRESS), oracles, draw(_u(8)), draw(_u(32)), draw(_u(32)),
        draw(HASH), draw(HASH), draw(HASH),
    )  # fmt: skip
    milestone = Milestone(
        draw(_u(128)), draw(_u(128)), draw(HASH), draw(INT256), draw(INT256), draw(INT256), draw(_u(64)),
        draw(_u(32)), draw(_u(16)), draw(_u(16)), draw(_u(16)), draw(_u(16)), draw(st.booleans()), draw(st.booleans()),
    )  # fmt: skip
    attestation = Attestation(
        draw(HASH), draw(_u(8)), milestone.metric_id, draw(INT256), draw(_u(64)), draw(HASH), draw(_u(64))
    )
    proof = draw(st.lists(HASH, max_size=7))
    signatures = b"".join(draw(st.lists(st.binary(min_size=65, max_size=65), max_size=16)))
    return terms, milestone, proof, attestation, signatures


def _normalised(terms: AgreementTerms) -> AgreementTerms:
    """Addresses as unpack returns them: checksummed."""
    return replace(
        terms,
        client=to_checksum_address(terms.client),
        provider=to_checksum_address(terms.provider),
        arbiter=to_checksum_address(terms.arbiter),
        token=to_checksum_address(terms.token),
        oracles=tuple(to_checksum_address(o) for o in terms.oracles),
    )


@given(settlements())
def test_every_field_reads_back(case):
    terms, milestone, proof, attestation, signatures = case
    packed = settlement.pack(terms, milestone, proof, attestation, signatures)
    assert settlement.unpack(packed) == settlement.PackedSettlement(
        _normalised(terms), milestone, tuple(proof), attestation, signatures
    )
    # the offsets SettlementCodec reads without parsing: flags at 366, the three list lengths at 479
    assert packed[366] == milestone.higher_is_better | milestone.requires_client_approval << 1
    assert list(packed[479:482]) == [len(signatures) // 65, len(terms.oracles), len(proof)]
    assert len(packed) == 482 + len(signatures) + 20 * len(terms.oracles) + 32 * len(proof)


@given(settlements())
def test_bytes_that_are_not_a_settlement_are_refused(case):
    packed = settlement.pack(*case)
    for bad in (packed[:-1], packed + b"\x00", packed[:366] + b"\x04" + packed[367:]):
        with pytest.raises(settlement.MalformedSettlement):
            settlement.unpack(bad)


@given(settlements())
def test_an_attestation_of_another_metric_or_partial_signatures_cannot_be_packed(case):
    terms, milestone, proof, attestation, signatures = case
    with pytest.raises(ValueError, match="metricId"):
        settlement.pack(terms, milestone, proof, replace(attestation, metric_id=b"\x01" * 32), signatures)
    with pytest.raises(ValueError, match="65 bytes"):
        settlement.pack(terms, milestone, proof, attestation, signatures + b"\x00")
