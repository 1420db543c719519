"""Attestation signatures checked off-chain by exactly the escrow's rules (65-byte low-s
signatures, strictly ascending signers, members of the set, none revoked by its signer, at least
the threshold), fast:
recovery goes straight to libsecp256k1 through coincurve."""

from __future__ import annotations

from functools import cache

from coincurve import PublicKey
from eth_utils import keccak, to_checksum_address

from attestpay import typed_data
from attestpay.terms import Attestation

SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


class InvalidAttestation(Exception):
    """The signatures do not make the attestation valid; the message says which rule failed."""


def recover(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte signer of a 65-byte (r, s, v) signature; high-s and malformed ones are refused."""
    if len(signature) != 65:
        raise InvalidAttestation(f"a signature has {len(signature)} bytes, not 65")
    s, v = int.from_bytes(signature[32:64], "big"), signature[64]
    if s > SECP256K1_HALF_N or v not in (27, 28):
        raise InvalidAttestation("a signature is malleable (high s) or has a bad v")
    public = PublicKey.from_signature_and_message(signature[:64] + bytes([v - 27]), digest, hasher=None)
    return keccak(public.format(compressed=False)[1:])[-20:]


def attestation_signers(
    attestation: Attestation, signatures: bytes, oracles: tuple[str, ...], threshold: int, chain_id: int, escrow: str
) -> list[str]:
    """The signers, if the packed signatures make the attestation valid for this oracle set."""
    digest = typed_data.attestation_digest(attestation, chain_id, escrow)
    return signers_of_digest(digest, signatures, {bytes.fromhex(o[2:]) for o in oracles}, threshold)


def signers_of_digest(
    digest: bytes, signatures: bytes, members: set[bytes], threshold: int, revoked: frozenset[bytes] = frozenset()
) -> list[str]:
    """`revoked`: the members who withdrew their signature of `digest` in the registry; a bundle that
    counts one of them falls short, as on-chain (the relayer packs only unrevoked signatures)."""
    if len(signatures) % 65:
        raise InvalidAttestation(f"{len(signatures)} bytes of signatures is not a whole number of 65-byte ones")
    count = len(signatures) // 65
    if count < threshold:
        raise InvalidAttestation(f"{count} signatures, the threshold is {threshold}")
    signers: list[bytes] = []
    for i in range(count):
        signer = recover(digest, signatures[65 * i : 65 * i + 65])
        if signers and signer <= signers[-1]:
            raise InvalidAttestation(f"signer {i} is not after signer {i - 1} (ascending order, no duplicates)")
        if signer not in members:
            raise InvalidAttestation(f"{_checksum(signer)} is not in the oracle set")
        if signer in revoked:
            raise InvalidAttestation(f"{_checksum(signer)} revoked its signature")
        signers.append(signer)
    return [_checksum(s) for s in signers]


@cache
def _checksum(address: bytes) -> str:
    return to_checksum_address(address)
