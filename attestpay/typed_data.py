"""EIP-712 data of the escrow, built in one place for every component that signs or verifies.

Type definitions mirror `libraries/EscrowHashing.sol`; shared JSON vectors and a test against the
deployed contract keep the two equal. `typed_data()` gives the full message a wallet signs.
"""

from __future__ import annotations

from functools import cache

from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from attestpay.terms import AgreementTerms, Attestation, Milestone

DOMAIN_NAME = "AttestPay MilestoneEscrow"
DOMAIN_VERSION = "1"

TYPES: dict[str, list[tuple[str, str]]] = {
    "Agreement": [
        ("client", "address"),
        ("provider", "address"),
        ("arbiter", "address"),
        ("token", "address"),
        ("oracles", "address[]"),
        ("threshold", "uint8"),
        ("cureWindow", "uint32"),
        ("revision", "uint32"),
        ("docsHash", "bytes32"),
        ("salt", "bytes32"),
        ("milestonesRoot", "bytes32"),
    ],
    "Milestone": [
        ("index", "uint256"),
        ("amount", "uint128"),
        ("bonus", "uint128"),
        ("metricId", "bytes32"),
        ("floor", "int256"),
        ("target", "int256"),
        ("stretch", "int256"),
        ("deadline", "uint64"),
        ("holdbackPeriod", "uint32"),
        ("floorPayoutBps", "uint16"),
        ("latePenaltyBpsPerDay", "uint16"),
        ("maxLatePenaltyBps", "uint16"),
        ("holdbackBps", "uint16"),
        ("higherIsBetter", "bool"),
        ("requiresClientApproval", "bool"),
    ],
    "MetricAttestation": [
        ("agreementId", "bytes32"),
        ("milestoneIndex", "uint256"),
        ("metricId", "bytes32"),
        ("value", "int256"),
        ("observedAt", "uint64"),
        ("evidenceHash", "bytes32"),
        ("expiresAt", "uint64"),
    ],
    "Amendment": [("agreementId", "bytes32"), ("fromTermsHash", "bytes32"), ("toTermsHash", "bytes32")],
    "MilestoneApproval": [("agreementId", "bytes32"), ("milestoneIndex", "uint256")],
    "PartialAcceptance": [
        ("agreementId", "bytes32"),
        ("milestoneIndex", "uint256"),
        ("value", "int256"),
        ("attestation", "bytes32"),
    ],
    "DisputeSplit": [
        ("agreementId", "bytes32"),
        ("milestoneIndex", "uint256"),
        ("holdback", "bool"),
        ("providerShareBps", "uint16"),
    ],
}
DOMAIN_FIELDS = [("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address")]
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


def type_string(primary_type: str) -> str:
    return f"{primary_type}({','.join(f'{t} {n}' for n, t in TYPES[primary_type])})"


@cache
def typehash(primary_type: str) -> bytes:
    return keccak(text=type_string(primary_type))


def struct_hash(primary_type: str, message: dict) -> bytes:
    """hashStruct of EIP-712; arrays (only address[] here) hash their 32-byte-padded elements.
    Every field type here is static, so each encodes to one 32-byte word (checked for range)."""
    words = [typehash(primary_type)]
    for name, kind in TYPES[primary_type]:
        value = message[name]
        if kind.endswith("[]"):
            words.append(keccak(b"".join(_word(kind[:-2], v) for v in value)))
        else:
            words.append(_word(kind, value))
    return keccak(b"".join(words))


def _word(kind: str, value) -> bytes:
    """The 32-byte ABI encoding of one static value, refusing values its type cannot hold."""
    if kind == "bytes32":
        if len(value) != 32:
            raise ValueError(f"bytes32 value has {len(value)} bytes")
        return bytes(value)
    if kind == "address":
        raw = bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
        if len(raw) != 20:
            raise ValueError(f"address {value!r} is not 20 bytes")
        return raw.rjust(32, b"\0")
    if kind == "bool":
        return int(bool(value)).to_bytes(32, "big")
    signed, bits = kind.startswith("int"), int(kind.removeprefix("u").removeprefix("int"))
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
    if not low <= value < high:
        raise ValueError(f"{value} does not fit {kind}")
    return value.to_bytes(32, "big", signed=signed)


def domain(chain_id: int, escrow: str) -> dict:
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(escrow),
    }


def separator_of(name: str, version: str, chain_id: int, verifying_contract: str) -> bytes:
    """The separator of any domain of DOMAIN_FIELDS: the escrow's, or a token's for its permits."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text=name), keccak(text=version), chain_id, verifying_contract],
        )
    )


@cache
def domain_separator(chain_id: int, escrow: str) -> bytes:
    d = domain(chain_id, escrow)
    return separator_of(d["name"], d["version"], chain_id, d["verifyingContract"])


def digest(struct: bytes, chain_id: int, escrow: str) -> bytes:
    """The EIP-712 digest a signer signs: keccak(0x1901 || domainSeparator || structHash)."""
    return keccak(b"\x19\x01" + domain_separator(chain_id, escrow) + struct)


def typed_data(primary_type: str, message: dict, chain_id: int, escrow: str) -> dict:
    """The full EIP-712 message (eth_signTypedData_v4 / eth-account's `encode_typed_data`), wallet
    safe: every integer is a decimal string (`wallet_json`)."""
    return {
        "types": {
            "EIP712Domain": fields_json(DOMAIN_FIELDS),
            primary_type: fields_json(TYPES[primary_type]),
        },
        "primaryType": primary_type,
        "domain": wallet_json(domain(chain_id, escrow)),
        "message": wallet_json(message),
    }


def fields_json(fields: list[tuple[str, str]]) -> list[dict[str, str]]:
    """A struct's (name, type) fields as the `types` of an eth_signTypedData_v4 message list them."""
    return [{"name": n, "type": t} for n, t in fields]


def wallet_json(value):
    """`value` with every integer as a decimal string: a JavaScript wallet's `JSON.parse` rounds
    any number above 2^53 (an 18-decimal amount or metric), and eth_signTypedData_v4 (MetaMask's
    eth-sig-util, viem, eth-account) reads integer fields from decimal strings exactly."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: wallet_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wallet_json(v) for v in value]
    return value


# ---------------------------------------------------------------- messages of the escrow's structs


def _message(primary_type: str, values: tuple) -> dict:
    return dict(zip((name for name, _ in TYPES[primary_type]), values, strict=True))


def terms_message(terms: AgreementTerms) -> dict:
    return _message("Agreement", terms.as_abi())


def milestone_message(index: int, milestone: Milestone) -> dict:
    return _message("Milestone", (index, *milestone.as_abi()))


def attestation_message(attestation: Attestation) -> dict:
    return _message("MetricAttestation", attestation.as_abi())


def terms_hash(terms: AgreementTerms) -> bytes:
    """The terms' struct hash; an agreement's id is this hash at creation."""
    return struct_hash("Agreement", terms_message(terms))


def attestation_digest(attestation: Attestation, chain_id: int, escrow: str) -> bytes:
    return digest(struct_hash("MetricAttestation", attestation_message(attestation)), chain_id, escrow)


# ---------------------------------------------------------------- milestone Merkle tree


def milestone_leaf(index: int, milestone: Milestone) -> bytes:
    return struct_hash("Milestone", milestone_message(index, milestone))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's commutative keccak256: both Merkle trees (milestones, anchoring) pair this way."""
    return keccak(min(a, b) + max(a, b))


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first: sorted pairs, an odd node carried up unchanged."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        level = levels[-1]
        up = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        levels.append(up)
    return levels


def milestones_root(milestones: list[Milestone]) -> bytes:
    return _levels([milestone_leaf(i, m) for i, m in enumerate(milestones)])[-1][0]


def milestone_proof(milestones: list[Milestone], index: int) -> list[bytes]:
    """Siblings from leaf to root (OpenZeppelin `MerkleProof` order)."""
    proof = []
    for level in _levels([milestone_leaf(i, m) for i, m in enumerate(milestones)])[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


# ---------------------------------------------------------------- signatures and anchoring


def sign(private_key: str | bytes, message_digest: bytes) -> bytes:
    """65-byte (r, s, v) signature of an EIP-712 digest; eth-account signs low-s."""
    return bytes(Account.unsafe_sign_hash(message_digest, private_key).signature)


def pack_signatures(signed: list[tuple[str, bytes]]) -> bytes:
    """(signer, signature) pairs packed in ascending signer order, as the escrow expects them."""
    return b"".join(sig for _, sig in sorted(signed, key=lambda pair: int(pair[0], 16)))


def registry_leaf(attestation_digest_: bytes) -> bytes:
    """The anchoring leaf: `@openzeppelin/merkle-tree` StandardMerkleTree with leaf encoding bytes32."""
    return keccak(keccak(encode(["bytes32"], [attestation_digest_])))
