"""Revert data decoded to the escrow's custom errors, from either kind of provider."""

from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3.exceptions import ContractCustomError

from attestpay.contracts import load_artifact
from attestpay.reverts import decode_revert, revert_data

ABI = load_artifact("MilestoneEscrow")["abi"]
DATA = keccak(text="NotEnoughSignatures(uint256,uint8)")[:4] + encode(["uint256", "uint8"], [1, 2])


def test_json_rpc_and_eth_tester_failures_decode_to_the_custom_error():
    over_rpc = ContractCustomError("0x" + DATA.hex(), data="0x" + DATA.hex())
    embedded = TransactionFailed(f"execution reverted: {DATA!r}")
    for failure in (over_rpc, embedded):
        error = decode_revert(ABI, revert_data(failure))
        assert (error.name, error.args) == ("NotEnoughSignatures", (1, 2))
        assert str(error) == "NotEnoughSignatures(1, 2)"


def test_anything_else_decodes_to_nothing():
    assert revert_data(ValueError("connection refused")) is None
    assert decode_revert(ABI, b"\x08\xc3\x79\xa0" + b"\x00" * 64) is None  # Error(string), not ours
