"""The embedded chain: eth-tester on py-evm at Prague (what the contracts target; py-evm runs no
later fork), for the backend without a node, the demo and the tests.

Its gas estimate runs a transaction twice where py-evm's default binary search runs it about thirteen
times (between 21,000 and the block's limit, to within 21,000): with the limit, to learn the gas it
uses or the error it fails with, then once with what that use calls for. Only if that falls short
does py-evm's search run."""

from __future__ import annotations

from typing import cast

from eth.abc import SignedTransactionAPI, StateAPI
from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.vm.forks import PragueVM
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth.vm.spoof import SpoofTransaction
from eth_tester import EthereumTester, PyEVMBackend


def tester() -> EthereumTester:
    backend = PyEVMBackend(vm_configuration=((0, PragueVM),))
    # On the class too: reverting to a snapshot makes a new chain of the same class.
    type(backend.chain).gas_estimator = staticmethod(estimate_gas)
    backend.chain.gas_estimator = estimate_gas
    return EthereumTester(backend)


def estimate_gas(state: StateAPI, transaction: SignedTransactionAPI) -> int:
    """Enough gas for `transaction` on `state`, or the error it fails with given the block's limit."""
    used = _run(state, transaction, state.gas_limit)
    if isinstance(used, Exception):
        raise used
    # A call passes on at most 63/64 of what it has left (EIP-150): what the transaction used
    # at the limit may fall short when it runs with no more than that. And never below the
    # calldata's floor (EIP-7623), which is charged after the run.
    floor = PragueTransactionExecutor.calc_data_floor_gas(transaction, 0, 0)
    enough = min(state.gas_limit, max(floor, used + used // 63 + 2_300))
    if not isinstance(_run(state, transaction, enough), Exception):
        return enough
    return binary_gas_search_intrinsic_tolerance(state, transaction)


def _run(state: StateAPI, transaction: SignedTransactionAPI, gas: int) -> int | Exception:
    """The gas the transaction uses before refunds given `gas`, or its error; the state is unchanged."""
    snapshot = state.snapshot()
    try:
        spoof = cast(SignedTransactionAPI, SpoofTransaction(transaction, gas=gas, gas_price=0))
        computation = state.apply_transaction(spoof)
        if computation.is_error:
            return computation.error
        return transaction.intrinsic_gas + computation.get_gas_used()
    finally:
        state.revert(snapshot)
