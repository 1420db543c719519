"""Price sources: a peg, and a Chainlink-style feed read at a past block keeps that block's price after the
feed moves on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from attestpay.contracts import deploy
from attestpay.pricing import PriceUnavailable, parse_sources, price_of
from attestpay.terms import ETH


def test_a_feed_is_read_at_the_settlement_block_not_later(chain):
    feed = deploy(chain.w3, "MockPriceFeed", 8, "ETH / EUR", 2_750_12345678, sender=chain.client.address)
    sources = parse_sources(f'{{"ETH": {{"feed": "{feed.address}", "currency": "eur"}}}}')
    settled_at = chain.w3.eth.block_number
    feed.functions.setAnswer(3_100 * 10**8).transact({"from": chain.client.address})
    then = price_of(sources, ETH, chain.w3, settled_at)
    now = price_of(sources, ETH, chain.w3, chain.w3.eth.block_number)
    assert (then.value, then.currency, then.source) == (Decimal("2750.12345678"), "EUR", f"feed {feed.address} round 1")
    assert now.value == Decimal(3100)


def test_a_peg_needs_no_chain(chain):
    sources = parse_sources(f'{{"{chain.token.address}": {{"peg": "0.92", "currency": "EUR"}}}}')
    assert price_of(sources, chain.token.address, None, 7).value == Decimal("0.92")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('{"ETH": {"peg": "1", "feed": "0x0000000000000000000000000000000000000001", "currency": "EUR"}}', "either"),
        ('{"ETH": {"peg": "one", "currency": "EUR"}}', "not a number"),
        ('{"ETH": {"peg": "1", "currency": "euro"}}', "ISO 4217"),
    ],
)
def test_a_bad_price_configuration_names_the_token(config, message):
    with pytest.raises(ValueError, match=message):
        parse_sources(config)


def test_a_token_without_a_source_is_refused_with_what_to_do(chain):
    with pytest.raises(PriceUnavailable, match="ATTESTPAY_PRICES"):
        price_of({}, chain.token.address, chain.w3, 1)
