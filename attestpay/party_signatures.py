"""The one party-signature rule of escrow-semantics.md, off-chain, exactly as the escrow's
`PartySignatures` library applies it on-chain, so that nothing one side accepts the other refuses:

- the signer's key: a 65-byte low-s ECDSA signature of the digest (v 27/28; v 0/1, as some
  hardware-wallet stacks return it, is read as 27/28 by both sides);
- else, when the signer has code (a contract account such as a Safe, or an EOA with an EIP-7702
  delegation, code 0xef0100 || delegate), its ERC-1271 `isValidSignature` answer, asked with
  `eth_call` at the latest block.

A contract's answer can change from one block to the next (owners rotate, a delegation moves), so
a signature that passed here is checked again by the escrow when it is used.

Sign-in alone also takes EIP-6492 signatures of accounts not deployed yet (`is_valid_sign_in`):
the account's factory call and its ERC-1271 answer are simulated together (eth_simulateV1). The
escrow does not take them (an account must exist to hold or fund an agreement), so neither do
consent, approvals, acceptances, amendments or splits here.
"""

from __future__ import annotations

from eth_abi import decode, encode
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.types import TxParams

from attestpay.verify import InvalidAttestation, recover

ERC1271_SELECTOR = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes), also its magic answer
DELEGATION_PREFIX = bytes.fromhex("ef0100")  # EIP-7702 delegation designator
ERC6492_SUFFIX = bytes.fromhex("6492" * 16)  # ends a signature wrapped for a counterfactual account


class InvalidPartySignature(Exception):
    """The signature is not the party's under the rule; the message says what was tried."""


def key_signer(digest: bytes, signature: bytes) -> bytes | None:
    """The 20-byte address whose key made this 65-byte low-s signature, or None."""
    if len(signature) != 65:
        return None
    if signature[64] in (0, 1):
        signature = signature[:64] + bytes([signature[64] + 27])
    try:
        return recover(digest, signature)
    except InvalidAttestation:
        return None


def erc1271_accepts(w3: Web3, account: str, digest: bytes, signature: bytes) -> bool:
    """True when `account`'s `isValidSignature(digest, signature)` returns the magic value now.
    A revert or any other answer is a refusal; a node that fails raises (it is not a refusal)."""
    try:
        answer = w3.eth.call(_erc1271_call(account, digest, signature), "latest")
    except ContractLogicError:
        return False
    return len(answer) >= 32 and bytes(answer[:32]) == ERC1271_SELECTOR.ljust(32, b"\0")


def _erc1271_call(account: str, digest: bytes, signature: bytes) -> TxParams:
    data = ERC1271_SELECTOR + encode(["bytes32", "bytes"], [digest, signature])
    return {"to": Web3.to_checksum_address(account), "data": HexStr("0x" + data.hex())}


def erc6492_accepts(w3: Web3, account: str, digest: bytes, signature: bytes) -> bool:
    """True when an EIP-6492 signature (factory, factory calldata, inner signature, magic suffix)
    of a not-yet-deployed `account` is valid: its deployment and then its ERC-1271 answer,
    simulated in one block at the latest state (nothing is sent)."""
    try:
        factory, factory_calldata, inner = decode(["address", "bytes", "bytes"], signature[: -len(ERC6492_SUFFIX)])
    except Exception:  # eth_abi raises several kinds for malformed data
        return False
    calls: list[TxParams] = [{"to": Web3.to_checksum_address(factory), "data": HexStr("0x" + factory_calldata.hex())}]
    calls.append(_erc1271_call(account, digest, inner))
    (block,) = w3.eth.simulate_v1({"blockStateCalls": [{"calls": calls}]}, "latest")
    answer = block["calls"][1]
    data = bytes(answer["returnData"])
    return answer["status"] == 1 and len(data) >= 32 and data[:32] == ERC1271_SELECTOR.ljust(32, b"\0")


def is_valid_sign_in(w3: Web3, signer: str, digest: bytes, signature: bytes) -> bool:
    """The rule, plus EIP-6492 for an account without code yet (sign-in only)."""
    if signature.endswith(ERC6492_SUFFIX) and not w3.eth.get_code(Web3.to_checksum_address(signer)):
        return erc6492_accepts(w3, signer, digest, signature)
    return is_valid(w3, signer, digest, signature)


def is_valid(w3: Web3, signer: str, digest: bytes, signature: bytes) -> bool:
    """The rule: the signer's key, or, for an account with code, its ERC-1271 answer."""
    if key_signer(digest, signature) == bytes.fromhex(signer[2:]):
        return True
    return bool(w3.eth.get_code(Web3.to_checksum_address(signer))) and erc1271_accepts(w3, signer, digest, signature)


def require(w3: Web3, signer: str, digest: bytes, signature: bytes, what: str, sign_in: bool = False) -> None:
    """Raises InvalidPartySignature, saying how to fix it, unless `signature` is `signer`'s
    (`sign_in`: EIP-6492 signatures of accounts not deployed yet count too)."""
    if (is_valid_sign_in if sign_in else is_valid)(w3, signer, digest, signature):
        return
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(signer)))
    recovered = key_signer(digest, signature)
    if code.startswith(DELEGATION_PREFIX) and len(code) == 23:
        kind = f"an EOA delegated (EIP-7702) to 0x{code[3:].hex()}: neither its key's signature nor its ERC-1271 answer"
    elif code:
        kind = "a contract account whose ERC-1271 isValidSignature did not accept it"
    elif signature.endswith(ERC6492_SUFFIX):
        kind = "an account not deployed yet, whose EIP-6492 signature (deployment, then ERC-1271) did not pass"
        if not sign_in:
            kind = "an account not deployed yet: only sign-in takes EIP-6492 signatures; deploy the account first"
    elif len(signature) != 65:
        kind = f"an account without code, which signs with its key (65 bytes), not {len(signature)} bytes"
    elif recovered is None:
        kind = "an account without code; the signature is malformed or has a high s (sign with a standard wallet)"
    else:
        kind = f"an account without code; the signature is by 0x{recovered.hex()}"
    raise InvalidPartySignature(f"{what} must be signed by {signer}, {kind}")
