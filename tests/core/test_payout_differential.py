"""attestpay.payout and the deployed escrow's PayoutMath agree on every figure, over thousands of
random milestones, values and times (full int256 and uint ranges included). The escrow runs on anvil:
an eth_call there costs about a millisecond, on the embedded py-evm chain some 50 times more. Each case
is one raw `eth_call`, encoded and decoded by eth-abi: web3's contract call validates the ABI and asks
the node for its chain id on every call, ten times the node's own work."""

from __future__ import annotations

import pytest
from eth_abi import decode, encode
from eth_utils import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from hypothesis import HealthCheck, given, settings, strategies as st

from attestpay import payout
from attestpay.devchain import start_anvil
from attestpay.terms import Milestone

pytestmark = [pytest.mark.anvil, pytest.mark.slow]  # its own anvil, thousands of cases

INT256 = st.integers(-(2**255), 2**255 - 1)
BPS = st.integers(0, payout.BPS)


@st.composite
def milestones(draw) -> Milestone:
    a, b, c = sorted(draw(st.lists(st.one_of(INT256, st.integers(-20_000, 20_000)), min_size=3, max_size=3)))
    up = draw(st.booleans())
    floor, target, stretch = (a, b, c) if up else (c, b, a)
    bonus = draw(st.one_of(st.just(0), st.integers(0, 2**128 - 1))) if target != stretch else 0
    return Milestone(
        amount=draw(st.integers(1, 2**128 - 1)),
        bonus=bonus,
        metric_id=b"\x01" * 32,
        floor=floor,
        target=target,
        stretch=stretch,
        deadline=draw(st.integers(0, 2**64 - 1)),
        holdback_period=draw(st.integers(0, 2**32 - 1)),
        floor_payout_bps=draw(BPS),
        late_penalty_bps_per_day=draw(BPS),
        max_late_penalty_bps=draw(BPS),
        holdback_bps=draw(BPS),
        higher_is_better=up,
        requires_client_approval=draw(st.booleans()),
    )


@pytest.fixture(scope="module")
def escrow():
    """The escrow as deployed, on an anvil of this module's own (previewPayout is a view)."""
    node = start_anvil()
    yield node.escrow
    node.stop()


@pytest.fixture(scope="module")
def preview_payout(escrow):
    """`previewPayout(milestone, value, observedAt)` as one raw eth_call to the node."""
    abi = escrow.get_function_by_name("previewPayout").abi
    selector, inputs, outputs = function_abi_to_4byte_selector(abi), get_abi_input_types(abi), get_abi_output_types(abi)
    provider = escrow.w3.provider

    def call(*args) -> tuple:
        data = "0x" + (selector + encode(inputs, args)).hex()
        answer = provider.make_request("eth_call", [{"to": escrow.address, "data": data}, "latest"])
        assert "error" not in answer, answer
        return decode(outputs, bytes.fromhex(answer["result"][2:]))[0]

    return call


@settings(
    max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(m=milestones(), value=st.one_of(INT256, st.integers(-20_000, 20_000)), observed_at=st.integers(0, 2**64 - 1))
def test_python_and_solidity_pay_the_same(preview_payout, m, value, observed_at):
    on_chain = preview_payout(m.as_abi(), value, observed_at)
    in_python = payout.compute(m, value, observed_at)
    assert tuple(on_chain) == tuple(vars(in_python).values())
    assert in_python.paid_now + in_python.holdback + in_python.refund == m.amount + m.bonus


def test_the_python_constants_are_the_contracts(escrow):
    assert escrow.functions.MAX_MILESTONES().call() == payout.MAX_MILESTONES


@given(disputed=st.integers(0, 2**128 - 1), share=BPS)
def test_the_dispute_split_pays_out_the_whole_disputed_amount(disputed, share):
    to_provider, to_client = payout.dispute_split(disputed, share)
    assert to_provider + to_client == disputed and 0 <= to_provider <= disputed
    assert payout.dispute_split(1_001, 5_000) == (500, 501)  # the provider's share rounds down, as on chain
