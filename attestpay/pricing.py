"""Fiat prices of escrow tokens for invoices and journals: a fixed peg (a stablecoin) or a Chainlink-style
AggregatorV3Interface feed read at the settlement's block, so that a document made later shows the
price of that moment. Configured per token as JSON (ATTESTPAY_PRICES):
`{"0xToken": {"peg": "0.92", "currency": "EUR"}, "ETH": {"feed": "0xFeed", "currency": "EUR"}}`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from web3 import Web3

from attestpay.terms import ETH

FEED_ABI = [
    {
        "name": "decimals",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    },
    {
        "name": "latestRoundData",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [
            {"name": "roundId", "type": "uint80"},
            {"name": "answer", "type": "int256"},
            {"name": "startedAt", "type": "uint256"},
            {"name": "updatedAt", "type": "uint256"},
            {"name": "answeredInRound", "type": "uint80"},
        ],
    },
]


class PriceUnavailable(ValueError):
    """No price source for a token, or its feed has no valid answer at the block."""


@dataclass(frozen=True)
class Price:
    """Fiat per whole token, with where it came from (stored with every document that uses it)."""

    value: Decimal
    currency: str  # ISO 4217
    source: str  # "peg" or "feed 0x… round N"
    block: int | None = None


@dataclass(frozen=True)
class PriceSource:
    currency: str
    peg: Decimal | None = None
    feed: str | None = None

    def at(self, w3: Web3 | None, block: int) -> Price:
        if self.peg is not None:
            return Price(self.peg, self.currency, "peg", block)
        if w3 is None or self.feed is None:
            raise PriceUnavailable(f"the {self.currency} feed {self.feed} needs a chain connection")
        feed = w3.eth.contract(address=Web3.to_checksum_address(self.feed), abi=FEED_ABI)
        decimals = feed.functions.decimals().call(block_identifier=block)
        round_id, answer, _, updated_at, _ = feed.functions.latestRoundData().call(block_identifier=block)
        if answer <= 0 or updated_at == 0:
            raise PriceUnavailable(f"feed {self.feed} has no valid answer at block {block}")
        return Price(
            Decimal(answer) / Decimal(10) ** decimals, self.currency, f"feed {self.feed} round {round_id}", block
        )


def parse_sources(text: str) -> dict[str, PriceSource]:
    """Token address (or "ETH") -> source, from the ATTESTPAY_PRICES JSON; raises ValueError naming the entry."""
    sources = {}
    for token, entry in (json.loads(text) if text.strip() else {}).items():
        key = ETH if token.upper() == "ETH" else Web3.to_checksum_address(token)
        currency = str(entry.get("currency", ""))
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError(f"price of {token}: currency must be an ISO 4217 code such as EUR")
        if ("peg" in entry) == ("feed" in entry):
            raise ValueError(f"price of {token}: give either a peg or a feed")
        try:
            peg = Decimal(str(entry["peg"])) if "peg" in entry else None
        except InvalidOperation as exc:
            raise ValueError(f"price of {token}: peg {entry['peg']!r} is not a number") from exc
        feed = Web3.to_checksum_address(entry["feed"]) if "feed" in entry else None
        sources[key] = PriceSource(currency.upper(), peg, feed)
    return sources


def price_of(sources: dict[str, PriceSource], token: str, w3: Web3 | None, block: int) -> Price:
    key = ETH if int(token, 16) == 0 else Web3.to_checksum_address(token)
    if key not in sources:
        raise PriceUnavailable(f"no price source for token {token}: add it to ATTESTPAY_PRICES")
    return sources[key].at(w3, block)
