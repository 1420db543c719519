"""Checks that `halmos_z3_integers` reads bit-vector terms exactly, run by `make test-halmos` before
the proofs: an integer reading that differed from the bit-vector value could let z3 answer `unsat`
for a query with a counterexample, and so pass a false lemma.

For every operation the reading knows, on 8-bit and 16-bit operands, it compares the bit-vector
term's value with its integer reading's value under the same assignments (every combination of 0,
1 and the extremes, then random ones), and checks that the reading's bound holds. Exits 1 on the first difference."""

from __future__ import annotations

import itertools
import random
import sys

import z3
from halmos_z3_integers import IntegerReading

W = 8


def operations(a: z3.BitVecRef, b: z3.BitVecRef, c: z3.BitVecRef) -> list[z3.ExprRef]:
    zero = z3.BitVecVal(0, W)
    return [
        a + b + c,
        a - b,
        a * b * c,
        -a,
        ~a,
        z3.UDiv(a, b),
        z3.URem(a, b),
        z3.If(b == zero, zero, z3.UDiv(a, b)),  # halmos's EVM division
        z3.Extract(6, 2, a),
        z3.Concat(a, b),
        z3.ZeroExt(8, a) * z3.ZeroExt(8, b),  # a product the bounds keep from wrapping
        z3.SignExt(8, a),
        z3.LShR(a, 3),
        a << 3,
        z3.If(z3.ULT(a, b), a, b),
        z3.If(z3.And(z3.ULE(a, b), z3.Not(a == c), a < b, b >= c, z3.UGT(c, a)), a, c),
    ]


def main() -> int:
    rng = random.Random(2026)
    a, b, c = z3.BitVecs("a b c", W)
    terms = operations(a, b, c)
    reading = IntegerReading({})
    read = [reading.of(t) for t in terms]
    special = [0, 1, 2**W - 1, 2 ** (W - 1), 2 ** (W - 1) - 1]
    cases = [list(v) for v in itertools.product(special, repeat=3)]
    cases += [[rng.randrange(2**W) for _ in range(3)] for _ in range(300)]
    for values in cases:
        bits = [(v, z3.BitVecVal(x, W)) for v, x in zip((a, b, c), values, strict=True)]
        ints = [(z3.Int(v.decl().name()), z3.IntVal(x)) for v, x in zip((a, b, c), values, strict=True)]
        for term, (integer, bound) in zip(terms, read, strict=True):
            expected = z3.simplify(z3.substitute(term, *bits)).as_long()
            got = z3.simplify(z3.substitute(integer, *ints))
            if not (z3.is_int_value(got) and got.as_long() == expected and expected < bound):
                print(f"halmos_z3_integers misreads {term} at {values}: {got} (bound {bound}), not {expected}")
                return 1
    print(f"halmos_z3_integers reads {len(terms)} operations exactly over {len(cases)} assignments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
