"""Exact integers beyond int64 on numpy: token amounts with 18 decimals overflow int64 (20,000 mUSD
is 2e22 base units), and float64 would round them. A value is three int64 limbs of 40 bits, the
top one signed: value = l0 + l1 * 2**40 + l2 * 2**80. Sums of a few hundred values stay exact
limb by limb (also through float64 `bincount`, each limb sum staying below 2**53); `normalise`
carries. Values must stay below 2**116 in magnitude (about 8e16 tokens of 18 decimals)."""

from __future__ import annotations

import math

import numpy as np

from attestpay.design import DesignError

BITS = 40
MASK = (1 << BITS) - 1
LIMIT = 1 << 116


def split(values: list[int]) -> np.ndarray:
    """Python ints as an (n, 3) int64 array of limbs."""
    if any(abs(v) >= LIMIT for v in values):
        raise DesignError("an amount beyond what the simulation keeps exact (2**116 base units)")
    return np.array([(v & MASK, (v >> BITS) & MASK, v >> 2 * BITS) for v in values], dtype=np.int64).reshape(-1, 3)


def times_small(a: np.ndarray, factor: np.ndarray | int) -> np.ndarray:
    """a * factor for 0 <= factor < 2**20 (basis points), exact."""
    return normalise(a * np.asarray(factor, dtype=np.int64)[..., None])


def div_small(a: np.ndarray, divisor: int) -> np.ndarray:
    """a // divisor for a >= 0 and 0 < divisor < 2**20, exact (long division, top limb first)."""
    out = np.empty_like(a)
    out[..., 2], rest = np.divmod(a[..., 2], divisor)
    out[..., 1], rest = np.divmod((rest << BITS) | a[..., 1], divisor)
    out[..., 0] = ((rest << BITS) | a[..., 0]) // divisor
    return out


def normalise(a: np.ndarray) -> np.ndarray:
    """Carries so that the two lower limbs are in [0, 2**40): one value, one representation; in place."""
    carry = a[..., 0] >> BITS
    a[..., 0] &= MASK
    a[..., 1] += carry
    carry = a[..., 1] >> BITS
    a[..., 1] &= MASK
    a[..., 2] += carry
    return a


def to_int(row: np.ndarray) -> int:
    return int(row[0]) + (int(row[1]) << BITS) + (int(row[2]) << 2 * BITS)


def weighted_total(a: np.ndarray, weights: np.ndarray) -> int:
    """Exact sum of a[k] * weights[k] (weights below 2**17, at most 2**14 rows at a time)."""
    out = 0
    for start in range(0, len(a), 1 << 14):
        chunk, w = a[start : start + (1 << 14)], weights[start : start + (1 << 14), None].astype(np.int64)
        low, high = (chunk & 0xFFFFF) * w, (chunk >> 20) * w
        sums = [int(x) for x in low.sum(axis=0)], [int(x) for x in high.sum(axis=0)]
        out += sum((lo + (hi << 20)) << (BITS * limb) for limb, (lo, hi) in enumerate(zip(*sums, strict=True)))
    return out


def total(a: np.ndarray) -> int:
    """The exact sum of normalised values along the first axis."""
    if len(a) >= 1 << 22:
        raise DesignError("at most 4,194,304 draws")
    return to_int(a.sum(axis=0))


def less_than(a: np.ndarray, value: int) -> np.ndarray:
    """Element-wise a < value (a normalised)."""
    c = split([value])[0]
    return (a[:, 2] < c[2]) | ((a[:, 2] == c[2]) & ((a[:, 1] < c[1]) | ((a[:, 1] == c[1]) & (a[:, 0] < c[0]))))


def quantiles(a: np.ndarray, qs: tuple[float, ...]) -> list[int]:
    """Exact order statistics of normalised values (the inverted-CDF definition: the smallest value
    with at least q of the draws at or below it). Two int64 keys split each value exactly,
    value // 2**57 and value % 2**57: select on the first, then among its ties on the second."""
    n = len(a)
    top = (a[:, 2] << 23) | (a[:, 1] >> 17)
    low = ((a[:, 1] & 0x1FFFF) << BITS) | a[:, 0]
    ranks = [max(0, math.ceil(q * n) - 1) for q in qs]
    chosen = np.partition(top, ranks)
    out, ties = [], {}
    for rank in ranks:
        high = int(chosen[rank])
        if high not in ties:  # ranks often fall in the same run of equal values
            ties[high] = (low[top == high], int(np.count_nonzero(top < high)))
        tied, below = ties[high]
        out.append((high << 57) + int(np.partition(tied, rank - below)[rank - below]))
    return out
