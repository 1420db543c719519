"""The party-signature rule's key half, and the docs stating the rule once, identically, for the
escrow and the backend (the ERC-1271 half runs on anvil: tests/e2e/test_e2e_wallets.py)."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from attestpay import typed_data
from attestpay.party_signatures import key_signer
from attestpay.verify import SECP256K1_HALF_N

ROOT = Path(__file__).resolve().parents[2]
SECP256K1_N = 2 * SECP256K1_HALF_N + 1
DIGEST = b"\x42" * 32


def test_a_key_signature_with_v_0_or_1_is_read_as_27_or_28():
    account = Account.create()
    signature = typed_data.sign(account.key, DIGEST)
    lowered = signature[:64] + bytes([signature[64] - 27])
    assert key_signer(DIGEST, signature) == key_signer(DIGEST, lowered) == bytes.fromhex(account.address[2:])


def test_high_s_other_v_and_other_lengths_have_no_signer():
    signature = typed_data.sign(Account.create().key, DIGEST)
    s = int.from_bytes(signature[32:64], "big")
    high_s = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    assert key_signer(DIGEST, high_s) is None
    assert key_signer(DIGEST, signature[:64] + b"\x1d") is None
    assert key_signer(DIGEST, signature + b"\x00") is None


def _rule(doc: str) -> str:
    text = (ROOT / "docs" / doc).read_text()
    start = text.index("Consent, a client's approval, a provider's partial acceptance")
    return text[start : text.index("deploy the account first.", start)]


def test_the_contracts_and_backend_docs_state_the_rule_identically():
    assert _rule("contracts.md") == _rule("backend.md")
