"""Aggregations over windowed values, exact (Fractions) so every node gets the same number."""

from __future__ import annotations

import math
from fractions import Fraction

from oracle.errors import SourceError


def aggregate(values: list[Fraction], how: str) -> Fraction:
    """`values` in time order. Percentiles use the nearest-rank method (no interpolation)."""
    if how == "count":
        return Fraction(len(values))
    if not values:
        raise SourceError("no data in the window: refusing to report a default value")
    if how == "latest":
        return values[-1]
    if how == "sum":
        return sum(values, Fraction(0))
    if how == "mean":
        return sum(values, Fraction(0)) / len(values)
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    if how in ("p50", "p95", "p99"):
        ordered = sorted(values)
        rank = math.ceil(int(how[1:]) / 100 * len(ordered))
        return ordered[max(rank, 1) - 1]
    raise SourceError(f"unknown aggregation {how!r}")


def scale(value: Fraction, decimals: int) -> int:
    """The int256 the contract sees: floor(value * 10**decimals), rounding toward minus infinity."""
    return math.floor(value * 10**decimals)
