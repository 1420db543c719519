"""Off-chain attestation checks follow the escrow's rules, and agree with eth-account."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from attestpay import typed_data
from attestpay.terms import Attestation
from attestpay.verify import InvalidAttestation, attestation_signers, recover

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KEYS = sorted((Account.from_key(bytes([7] * 31 + [i])) for i in range(1, 4)), key=lambda a: int(a.address, 16))
ORACLES = tuple(a.address for a in KEYS)
ESCROW = "0x" + "ab" * 20
ATT = Attestation(b"\x01" * 32, 0, b"\x02" * 32, 9300, 1_700_000_000, b"\x03" * 32, 1_700_086_400)
DIGEST = typed_data.attestation_digest(ATT, 1, ESCROW)
SIGS = [typed_data.sign(a.key, DIGEST) for a in KEYS]


def test_recover_agrees_with_eth_account():
    full = typed_data.typed_data("MetricAttestation", typed_data.attestation_message(ATT), 1, ESCROW)
    assert (
        "0x" + recover(DIGEST, SIGS[0]).hex()
        == Account.recover_message(encode_typed_data(full_message=full), signature=SIGS[0]).lower()
    )


def test_two_of_three_in_ascending_order_is_valid():
    assert attestation_signers(ATT, SIGS[0] + SIGS[2], ORACLES, 2, 1, ESCROW) == [ORACLES[0], ORACLES[2]]


@pytest.mark.parametrize(
    ("signatures", "reason"),
    [
        (SIGS[0], "threshold is 2"),
        (SIGS[2] + SIGS[0], "ascending"),
        (SIGS[0] + SIGS[0], "ascending"),
        (SIGS[0] + SIGS[1][:64], "whole number"),
        (
            SIGS[0]
            + SIGS[1][:32]
            + (N - int.from_bytes(SIGS[1][32:64], "big")).to_bytes(32, "big")
            + bytes([55 - SIGS[1][64]]),
            "high s",
        ),
    ],
)
def test_the_escrows_rules_are_enforced(signatures, reason):
    with pytest.raises(InvalidAttestation, match=reason):
        attestation_signers(ATT, signatures, ORACLES, 2, 1, ESCROW)


def test_a_signer_outside_the_set_or_another_chain_is_refused():
    outsider = typed_data.sign(Account.from_key(b"\x09" * 32).key, DIGEST)
    with pytest.raises(InvalidAttestation, match="not in the oracle set"):
        attestation_signers(ATT, outsider, ORACLES, 1, 1, ESCROW)
    with pytest.raises(InvalidAttestation, match="not in the oracle set"):
        attestation_signers(ATT, SIGS[0], ORACLES, 1, 2, ESCROW)  # signed for chain 1, checked for chain 2
