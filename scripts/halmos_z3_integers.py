"""An SMT-LIB bit-vector query read as integer arithmetic, for z3's nonlinear integer solver: each
bit-vector of width w is an integer in [0, 2^w), and each operation its exact value (sums and
products modulo 2^w, quotients rounded down, slices by powers of two). z3 then proves facts like
"x - x * k / 10_000 grows with x" in milliseconds, where every bit-blasting solver builds 256-bit
multiplier and divider circuits and gives up.

The reading keeps an upper bound of every term, from the widths and from the query's own "these
high bits are zero" facts (how halmos says a uint16 argument is a uint16), and takes a sum or a
product modulo 2^w only where the bound says it can wrap: the wrap-arounds are what would hide the
arithmetic from the solver.

Only `unsat` is trusted: a top-level assertion this module cannot read (an array, a bitwise `and`)
is left out, which only admits more models, so `unsat` stays sound and `sat` proves nothing."""

from __future__ import annotations

import z3


class Unreadable(Exception):
    """A term with no integer reading here (arrays, bitwise operations on two unknowns)."""


def _signed(x: z3.ArithRef, w: int) -> z3.ArithRef:
    return z3.If(x >= 2 ** (w - 1), x - 2**w, x)


class IntegerReading:
    """Integer terms with exclusive upper bounds: `of(e)` returns (term, bound)."""

    def __init__(self, narrowed: dict[str, int]) -> None:
        self.narrowed = narrowed  # unknown's name -> bound proven by the query's own facts
        self.memo: dict[int, tuple[z3.ExprRef, int]] = {}
        self.ranges: list[z3.BoolRef] = []  # 0 <= v < bound for every bit-vector unknown

    def term(self, e: z3.ExprRef) -> z3.ExprRef:
        return self.of(e)[0]

    def of(self, e: z3.ExprRef) -> tuple[z3.ExprRef, int]:
        key = e.get_id()
        if key not in self.memo:
            self.memo[key] = self._read(e)
        return self.memo[key]

    def _read(self, e: z3.ExprRef) -> tuple[z3.ExprRef, int]:
        if z3.is_true(e) or z3.is_false(e):
            return e, 0
        if z3.is_bv_value(e):
            return z3.IntVal(e.as_long()), e.as_long() + 1
        kind, args = e.decl().kind(), e.children()
        if kind == z3.Z3_OP_UNINTERPRETED and not args:
            if z3.is_bool(e):
                return e, 0
            if z3.is_bv(e):
                name = e.decl().name()
                bound = self.narrowed.get(name, 2 ** e.sort().size())
                v = z3.Int(name)
                self.ranges.append(z3.And(v >= 0, v < bound))
                return v, bound
        logical = _LOGICAL.get(kind)
        if logical is not None:
            return logical(*(self.term(a) for a in args)), 0
        if kind == z3.Z3_OP_EQ and not z3.is_array(args[0]):
            return self.term(args[0]) == self.term(args[1]), 0
        if kind == z3.Z3_OP_ITE:
            guarded = _guarded_quotient(*args)
            if guarded is not None:  # halmos's EVM division: ite(y == 0, 0, bvudiv(x, y))
                (x, bound), (y, _) = self.of(guarded[0]), self.of(guarded[1])
                return z3.If(y == 0, 0, x / y), bound
            (then, high), (other, low) = self.of(args[1]), self.of(args[2])
            return z3.If(self.term(args[0]), then, other), max(high, low)
        if not args or not z3.is_bv(args[0]):
            raise Unreadable(e.decl().name())
        return self._arithmetic(e, kind, args, [self.of(a) for a in args])

    def _arithmetic(self, e, kind, raw, read):  # noqa: C901, PLR0911, PLR0912 - one branch per operation
        w = raw[0].sort().size()
        m = 2**w
        a = [t for t, _ in read]
        bounds = [b for _, b in read]
        if kind in _COMPARE:
            return _COMPARE[kind](a[0], a[1]), 0
        if kind in _SIGNED_COMPARE:
            return _SIGNED_COMPARE[kind](_signed(a[0], w), _signed(a[1], w)), 0
        if kind == z3.Z3_OP_BADD:
            high = sum(b - 1 for b in bounds) + 1
            return _wrap(z3.Sum(a), high, m)
        if kind == z3.Z3_OP_BSUB:
            return (a[0] - a[1]) % m, m
        if kind == z3.Z3_OP_BMUL:
            product, high = a[0], bounds[0]
            for factor, bound in zip(a[1:], bounds[1:], strict=True):
                product, high = _wrap(product * factor, (high - 1) * (bound - 1) + 1, m)
            return product, high
        if kind == z3.Z3_OP_BNEG:
            return -a[0] % m, m
        if kind == z3.Z3_OP_BNOT:
            return m - 1 - a[0], m
        if kind == z3.Z3_OP_BUDIV:  # SMT-LIB: x / 0 is all ones
            return z3.If(a[1] == 0, m - 1, a[0] / a[1]), m
        if kind == z3.Z3_OP_BUREM:  # SMT-LIB: x % 0 is x
            return z3.If(a[1] == 0, a[0], a[0] % a[1]), bounds[0]
        if kind == z3.Z3_OP_EXTRACT:
            high, low = e.params()
            shifted = a[0] if low == 0 else a[0] / 2**low
            return _wrap(shifted, (bounds[0] - 1) // 2**low + 1, 2 ** (high - low + 1))
        if kind == z3.Z3_OP_CONCAT:
            joined, high = a[0], bounds[0]
            for part, bound, term in zip(a[1:], bounds[1:], raw[1:], strict=True):
                size = 2 ** term.sort().size()
                joined, high = joined * size + part, (high - 1) * size + bound
            return joined, high
        if kind == z3.Z3_OP_ZERO_EXT:
            return a[0], bounds[0]
        if kind == z3.Z3_OP_SIGN_EXT:
            extended = 2 ** (w + e.params()[0])
            return z3.If(a[0] >= 2 ** (w - 1), a[0] + extended - m, a[0]), extended
        if kind in (z3.Z3_OP_BSHL, z3.Z3_OP_BLSHR) and z3.is_bv_value(raw[1]):
            shift = raw[1].as_long()
            if shift >= w:
                return z3.IntVal(0), 1
            if kind == z3.Z3_OP_BLSHR:
                return a[0] / 2**shift, (bounds[0] - 1) // 2**shift + 1
            return _wrap(a[0] * 2**shift, (bounds[0] - 1) * 2**shift + 1, m)
        raise Unreadable(e.decl().name())


def _guarded_quotient(condition, then, other) -> tuple[z3.ExprRef, z3.ExprRef] | None:
    """(x, y) when the term is ite(y == 0, 0, bvudiv(x, y)), whose quotient never divides by zero."""
    if not (z3.is_eq(condition) and z3.is_bv_value(then) and then.as_long() == 0):
        return None
    if not z3.is_app_of(other, z3.Z3_OP_BUDIV):
        return None
    x, y = other.children()
    zero_test = condition.children()
    if y.eq(zero_test[0]) and z3.is_bv_value(zero_test[1]) and zero_test[1].as_long() == 0:
        return x, y
    return None


def _wrap(term: z3.ArithRef, bound: int, m: int) -> tuple[z3.ArithRef, int]:
    """`term mod m`, written only where `term` can reach m."""
    return (term, bound) if bound <= m else (term % m, m)


def _unknown(e: z3.ExprRef) -> bool:
    return z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED


def _narrowed(assertions: list[z3.BoolRef]) -> dict[str, int]:
    """Bounds the query states itself, which is how halmos says an argument fits its type:
    `v == concat(0, extract(k-1, 0, v))` means v < 2^k."""
    bounds: dict[str, int] = {}
    for fact in assertions:
        if not z3.is_eq(fact):
            continue
        v, joined = fact.children()
        if not (_unknown(v) and z3.is_app_of(joined, z3.Z3_OP_CONCAT) and len(joined.children()) == 2):
            continue
        zeros, low = joined.children()
        if (
            z3.is_bv_value(zeros)
            and zeros.as_long() == 0
            and z3.is_app_of(low, z3.Z3_OP_EXTRACT)
            and low.params()[1] == 0
            and low.children()[0].eq(v)
        ):
            name = v.decl().name()
            bounds[name] = min(bounds.get(name, 2 ** v.sort().size()), 2 ** (low.params()[0] + 1))
    return bounds


_LOGICAL = {
    z3.Z3_OP_AND: lambda *a: z3.And(*a),
    z3.Z3_OP_OR: lambda *a: z3.Or(*a),
    z3.Z3_OP_NOT: z3.Not,
    z3.Z3_OP_IMPLIES: z3.Implies,
    z3.Z3_OP_XOR: z3.Xor,
    z3.Z3_OP_DISTINCT: lambda *a: z3.Distinct(*a),
}
_COMPARE = {
    z3.Z3_OP_ULEQ: lambda x, y: x <= y,
    z3.Z3_OP_ULT: lambda x, y: x < y,
    z3.Z3_OP_UGEQ: lambda x, y: x >= y,
    z3.Z3_OP_UGT: lambda x, y: x > y,
}
_SIGNED_COMPARE = {
    z3.Z3_OP_SLEQ: lambda x, y: x <= y,
    z3.Z3_OP_SLT: lambda x, y: x < y,
    z3.Z3_OP_SGEQ: lambda x, y: x >= y,
    z3.Z3_OP_SGT: lambda x, y: x > y,
}


def integer_reading(path: str) -> list[z3.BoolRef]:
    """The query's readable assertions, as integer arithmetic, with every unknown's range."""
    facts = []
    for assertion in z3.parse_smt2_file(path):
        facts.extend(assertion.children() if z3.is_and(assertion) else [assertion])
    reading, kept = IntegerReading(_narrowed(facts)), []
    for fact in facts:
        try:
            kept.append(reading.term(fact))
        except Unreadable:
            continue
    return kept + reading.ranges


def unsat(path: str) -> bool:
    """Whether z3 shows the query's integer reading unsatisfiable (and so the query itself)."""
    solver = z3.SolverFor("QF_NIA")
    solver.add(integer_reading(path))
    return solver.check() == z3.unsat
