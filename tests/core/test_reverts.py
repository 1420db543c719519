"""Revert data decoded to the escrow's custom errors, from either kind of provider."""

from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3.exceptions import ContractCustomError

from attestpay.contracts import load_artifact
from attestpay.reverts import _SENTENCES, CustomError, decode_revert, revert_data

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


def test_a_party_reads_what_the_error_means_with_milestones_from_1_and_dates_with_the_year():
    assert CustomError("HoldbackNotDue", (1796087322,)).reason() == "the holdback is due on 2026-12-01 01:08 UTC"
    assert CustomError("NoHoldback", (0,)).reason().startswith("milestone 1 holds nothing back")
    assert CustomError("WrongPhase", (b"\x01" * 32, 4)).reason() == "the agreement is active on the chain"
    assert CustomError("NotEnoughSignatures", (1, 2)).reason() == "1 oracle signature where the agreement needs 2"
    assert CustomError("NotEnoughSignatures", (0, 2)).reason() == "0 oracle signatures where the agreement needs 2"


def test_an_error_without_words_or_with_arguments_out_of_range_has_no_reason():
    assert CustomError("InvalidSignature", (0,)).reason() is None  # only a caller of ours could send it
    assert CustomError("WrongPhase", (b"\x01" * 32, 9)).reason() is None
    assert CustomError("HoldbackNotDue", (2**64 - 1,)).reason() is None  # past any calendar


def test_every_error_with_words_is_one_of_the_escrows():
    errors = {item["name"]: len(item["inputs"]) for item in ABI if item["type"] == "error"}
    for name, sentence in _SENTENCES.items():
        assert sentence.__code__.co_argcount == errors[name], name
