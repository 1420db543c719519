"""EIP-2612 permits for funding from one signature: the client signs a permit for the escrow over
the funding total, and the escrow (`fundWithPermit`, `createAndFundFor`) uses it in the funding
transaction, which the client or the backend's relayer sends.

Why EIP-2612 and not Permit2 or ERC-3009: neither contract can be built here (npm has only
`@uniswap/permit2-sdk`; `permit2` and `@uniswap/permit2` do not exist there, and the project
installs nothing from git), while EIP-2612 is in OpenZeppelin's ERC20Permit and most stablecoins.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from attestpay.typed_data import DOMAIN_FIELDS, fields_json, separator_of, wallet_json

PERMIT_FIELDS = [
    ("owner", "address"),
    ("spender", "address"),
    ("value", "uint256"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
PERMIT_TYPEHASH = keccak(text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
ERC5267_ABI = [
    {
        "type": "function",
        "name": "eip712Domain",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [
            {"name": "fields", "type": "bytes1"},
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
            {"name": "salt", "type": "bytes32"},
            {"name": "extensions", "type": "uint256[]"},
        ],
    },
    {
        "type": "function",
        "name": "nonces",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]


@dataclass(frozen=True)
class TokenDomain:
    """A token's EIP-712 domain (name, version, chainId, verifyingContract), as ERC-5267 reports it."""

    name: str
    version: str
    chain_id: int
    token: str

    def as_json(self) -> dict:
        return {"name": self.name, "version": self.version, "chainId": self.chain_id, "verifyingContract": self.token}

    def separator(self) -> bytes:
        return separator_of(self.name, self.version, self.chain_id, self.token)


@dataclass(frozen=True)
class Permit:
    """`owner` lets `spender` take `value` of the token until `deadline` (unix seconds)."""

    owner: str
    spender: str
    value: int
    nonce: int
    deadline: int

    def digest(self, domain: TokenDomain) -> bytes:
        struct = keccak(
            encode(
                ["bytes32", "address", "address", "uint256", "uint256", "uint256"],
                [PERMIT_TYPEHASH, self.owner, self.spender, self.value, self.nonce, self.deadline],
            )
        )
        return keccak(b"\x19\x01" + domain.separator() + struct)

    def typed_data(self, domain: TokenDomain) -> dict:
        """The wallet-safe JSON for eth_signTypedData_v4 (integers as decimal strings)."""
        message = {
            "owner": to_checksum_address(self.owner),
            "spender": to_checksum_address(self.spender),
            "value": self.value,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }
        return {
            "types": {
                "EIP712Domain": fields_json(DOMAIN_FIELDS),
                "Permit": fields_json(PERMIT_FIELDS),
            },
            "primaryType": "Permit",
            "domain": wallet_json(domain.as_json()),
            "message": wallet_json(message),
        }


def escrow_permit(deadline: int, signature: bytes) -> tuple[int, int, bytes, bytes]:
    """The escrow's `Permit` tuple (deadline, v, r, s) from a 65-byte signature; v 0/1 is read as
    27/28, as for party signatures."""
    if len(signature) != 65:
        raise ValueError(f"a permit signature has 65 bytes, not {len(signature)}")
    v = signature[64] + 27 if signature[64] in (0, 1) else signature[64]
    return deadline, v, signature[:32], signature[32:64]
