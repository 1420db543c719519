"""The embedded chain's gas estimate (attestpay.embedded): two runs instead of py-evm's thirteen; it
must still be enough for the transaction, including calls that pass gas on, and still fail with the
contract's error."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from factories import milestone, terms, wallet_sign

from attestpay import embedded, typed_data


@contextmanager
def estimating_with(chain, estimator: Callable):
    """The chain with another gas estimator for a while (py-evm's own, to compare)."""
    instance = chain.tester.backend.chain

    def use(f: Callable) -> None:
        type(instance).gas_estimator, instance.gas_estimator = staticmethod(f), f

    use(estimator)
    try:
        yield
    finally:
        use(embedded.estimate_gas)


def failure(estimate: Callable) -> str:
    try:
        estimate()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError("the estimate did not fail")


def sent_with(chain, tx: dict, gas: int) -> dict:
    tx_hash = chain.w3.eth.send_transaction(tx | {"gas": gas})
    return chain.w3.eth.wait_for_transaction_receipt(tx_hash)


def test_the_estimate_is_enough_and_close_to_what_a_transaction_uses(chain):
    """Creating and funding an agreement: the escrow calls the token (EIP-150 passes on 63/64)."""
    ms = [milestone(chain), milestone(chain)]
    agreement = terms(chain, chain.token.address, ms, threshold=2)
    consent = wallet_sign(chain, chain.provider.key, "Agreement", typed_data.terms_message(agreement))
    call = chain.escrow.functions.createAndFund(agreement.as_abi(), [m.as_abi() for m in ms], consent)
    tx = {"from": chain.client.address, "to": chain.escrow.address, "data": call._encode_transaction_data()}
    estimate = chain.w3.eth.estimate_gas(tx)

    snapshot = chain.tester.take_snapshot()
    used = sent_with(chain, tx, estimate)
    assert used["status"] == 1
    assert estimate <= used["gasUsed"] * 64 // 63 + 2_300 + 1_000  # no refunds here: close to the use
    chain.tester.revert_to_snapshot(snapshot)
    assert sent_with(chain, tx, used["gasUsed"] - 1)["status"] == 0  # so the estimate is not vacuous


def test_a_failing_transaction_fails_the_estimate_as_py_evms_does(chain):
    """The escrow's custom error (here a consent no one signed) is what the backend names to a party."""
    ms = [milestone(chain)]
    agreement = terms(chain, chain.token.address, ms, threshold=1)
    call = chain.escrow.functions.createAndFund(agreement.as_abi(), [m.as_abi() for m in ms], b"\x00" * 65)
    ours = failure(lambda: call.estimate_gas({"from": chain.client.address}))
    with estimating_with(chain, binary_gas_search_intrinsic_tolerance):
        assert failure(lambda: call.estimate_gas({"from": chain.client.address})) == ours
    assert "execution reverted" in ours


def test_the_estimate_is_not_above_py_evms(chain):
    tx = {
        "from": chain.client.address,
        "to": chain.token.address,
        "data": chain.token.functions.transfer(chain.provider.address, 10**18)._encode_transaction_data(),
    }
    ours = chain.w3.eth.estimate_gas(tx)
    with estimating_with(chain, binary_gas_search_intrinsic_tolerance):
        assert ours <= chain.w3.eth.estimate_gas(tx)
