"""Human-readable terms ("20,000 mUSD", "2027-03-01", "30d") beside the API's own form (base units,
unix seconds). This adapter is the one place that reads them: when the core terms-file parser
(issue 21) lands, these three functions delegate to it and nothing else changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from attestpay.design import DesignError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 7 * 86_400}
_AMOUNT = re.compile(r"^\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*([A-Za-z][A-Za-z0-9.]*)\s*$")


def amount(value: int | str, decimals: int, symbol: str, field: str) -> int:
    """Base units from an int, a string of digits (base units, as the API takes them) or an amount
    in token units with the token's symbol ("20,000 mUSD"); never rounds."""
    if isinstance(value, bool):
        raise DesignError(f"{field}: an amount, not {value!r}")
    if isinstance(value, int):
        units = value
    elif isinstance(value, str) and value.strip().isdigit():
        units = int(value)
    else:
        match = _AMOUNT.match(value) if isinstance(value, str) else None
        if not match:
            raise DesignError(f'{field}: {value!r} is neither base units nor an amount like "20,000 {symbol}"')
        if match.group(2) != symbol:
            raise DesignError(f"{field}: {value!r} is not in {symbol}, the agreement's token")
        try:
            scaled = Decimal(match.group(1).replace(",", "").replace("_", "")).scaleb(decimals)
        except InvalidOperation:
            raise DesignError(f"{field}: {value!r} is not a number") from None
        if scaled != scaled.to_integral_value():
            raise DesignError(f"{field}: {value!r} has more than {decimals} decimals")
        units = int(scaled)
    if units < 0:
        raise DesignError(f"{field}: {value!r} is negative")
    return units


def timestamp(value: int | str, field: str) -> int:
    """Unix seconds from an int or an ISO 8601 date or date-time (UTC unless it says otherwise)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise DesignError(f"{field}: {value!r} is neither unix seconds nor an ISO date like 2027-03-01") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def duration(value: int | str, field: str) -> int:
    """Seconds from an int or a count with a unit: "30d", "12h", "2w" (s, m, h, d, w)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise DesignError(f"{field}: {value} is negative")
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise DesignError(f'{field}: {value!r} is neither seconds nor a duration like "30d"')
    return int(match.group(1)) * _SECONDS[match.group(2)]


def display(units: int, decimals: int, symbol: str, places: int | None = None) -> str:
    """Base units as people read them: "20,000.50 mUSD", exact, or cut (toward zero) to `places`
    decimals for tables."""
    sign, units = ("-", -units) if units < 0 else ("", units)
    whole, frac = divmod(units, 10**decimals)
    frac_text = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    frac_text = frac_text[:places] if places is not None else frac_text
    frac_text = frac_text.ljust(2, "0") if decimals >= 2 else frac_text
    return f"{sign}{whole:,}{'.' + frac_text if frac_text else ''} {symbol}"


def day(unix: int) -> str:
    """A date with its year, UTC."""
    return datetime.fromtimestamp(unix, UTC).date().isoformat()
