"""Tokens as people read them: a symbol and decimals per token address (ether built in, an ERC-20
read from the chain once, both overridable by configuration), and the one pair of functions that
turn base units into "20,000 mUSD" / "1.5 ETH" and back. Everything a person reads goes through
`format_amount`; JSON keeps the exact base units beside it."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from decimal import Context, Decimal
from pathlib import Path

from eth_utils import to_checksum_address

from attestpay.terms import ETH

ERC20_METADATA_ABI = [
    {"name": "symbol", "type": "function", "stateMutability": "view", "inputs": [], "outputs": [{"type": "string"}]},
    {"name": "decimals", "type": "function", "stateMutability": "view", "inputs": [], "outputs": [{"type": "uint8"}]},
]
EXACT = Context(prec=100)  # uint256 has 78 digits: no rounding, ever
OVERRIDES_ENV = "ATTESTPAY_TOKENS"  # a JSON file: {"0xToken": {"symbol": "USDC", "decimals": 6}, ...}


class AmountError(ValueError):
    """An amount or token a person wrote that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Token:
    address: str  # ETH (the zero address): ether
    symbol: str
    decimals: int

    def as_json(self) -> dict:
        return {"address": self.address, "symbol": self.symbol, "decimals": self.decimals}


ETHER = Token(ETH, "ETH", 18)


class TokenRegistry:
    """Token metadata by address and by symbol. `w3` (optional) reads an unknown ERC-20's symbol()
    and decimals() once; `overrides` win over the chain (a token without metadata, or a clearer name)."""

    def __init__(self, w3=None, overrides: dict[str, dict] | None = None) -> None:
        self.w3 = w3
        self._by_address: dict[str, Token] = {ETH: ETHER}
        for address, meta in (overrides or {}).items():
            self.add(Token(to_checksum_address(address), str(meta["symbol"]), int(meta["decimals"])))

    @classmethod
    def configured(cls, w3=None, path: str | Path | None = None) -> TokenRegistry:
        """With the overrides of `path`, else of the file ATTESTPAY_TOKENS names, if any."""
        path = path or os.environ.get(OVERRIDES_ENV)
        if not path:
            return cls(w3)
        try:
            return cls(w3, json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AmountError(
                f'cannot read the token overrides {path}: {exc}; expected {{"0x...": {{"symbol", "decimals"}}}}'
            ) from None

    def add(self, token: Token) -> Token:
        self._by_address[token.address] = token
        return token

    def token(self, address: str | None) -> Token:
        """The token at `address` (None or the zero address: ether)."""
        if address is None or int(address, 16) == 0:
            return ETHER
        address = to_checksum_address(address)
        if address in self._by_address:
            return self._by_address[address]
        if self.w3 is None:
            return Token(address, f"token {address[:10]}…", 0)  # nothing to ask: base units, named by address
        contract = self.w3.eth.contract(address=address, abi=ERC20_METADATA_ABI)
        try:
            symbol, decimals = contract.functions.symbol().call(), contract.functions.decimals().call()
        except Exception as exc:  # noqa: BLE001 - any node or contract failure: the token has no readable metadata
            raise AmountError(
                f"cannot read symbol() and decimals() of {address}: {exc}; name it in {OVERRIDES_ENV}"
            ) from None
        return self.add(Token(address, symbol, decimals))

    def by_symbol(self, symbol: str) -> Token:
        matches = [t for t in self._by_address.values() if t.symbol.lower() == symbol.lower()]
        if len(matches) != 1:
            known = ", ".join(sorted(t.symbol for t in self._by_address.values()))
            raise AmountError(
                f"unknown token {symbol!r}" + (f" (known: {known})" if known else "") + ": give its address"
                if not matches
                else f"{symbol!r} names {len(matches)} tokens: give the address"
            )
        return matches[0]


def format_amount(base_units: int, token: Token) -> str:
    """Base units as a person reads them: exact, thousands separated, no trailing zeros ("1.5 ETH")."""
    value = Decimal(int(base_units)).scaleb(-token.decimals, context=EXACT)
    whole, _, fraction = f"{value:f}".partition(".")
    fraction = fraction.rstrip("0")
    return f"{int(whole):,}{'.' + fraction if fraction else ''} {token.symbol}"


_AMOUNT = re.compile(r"^\s*(?P<number>-?[0-9][0-9,_]*(?:\.[0-9]+)?)\s*(?P<symbol>\S+)?\s*$")


def parse_amount(text: str | int, token: Token) -> int:
    """ "20,000 mUSD" or "1.5" in `token`'s units -> exact base units. A symbol, when written, must
    be the token's; more decimals than the token has is an error, never a rounding."""
    if isinstance(text, int) and not isinstance(text, bool):
        raise AmountError(f"{text} has no unit: write it with the token's symbol, e.g. '{text} {token.symbol}'")
    match = _AMOUNT.match(str(text))
    if not match:
        raise AmountError(f"{text!r} is not an amount: write e.g. '20,000 {token.symbol}' or '1.5 {token.symbol}'")
    symbol = match["symbol"]
    if symbol is not None and symbol.lower() != token.symbol.lower():
        raise AmountError(f"{text!r} is in {symbol}, but the agreement's token is {token.symbol}")
    number = Decimal(match["number"].replace(",", "").replace("_", ""))
    if number < 0:
        raise AmountError(f"{text!r} is negative: amounts are zero or more")
    scaled = number.scaleb(token.decimals, context=EXACT)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{text!r} has more decimals than {token.symbol} ({token.decimals})")
    return int(scaled)


def token_symbol_of(text: str) -> str | None:
    """The symbol written after an amount ("20,000 mUSD" -> "mUSD"), if any."""
    match = _AMOUNT.match(str(text))
    return match["symbol"] if match else None
