// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {PayoutMath} from "../../libraries/PayoutMath.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Symbolic proofs of the facts about `PayoutMath`'s helpers that the rulebook's properties
/// (a)-(d) are composed from, step by step (docs/contracts.md, "Proofs"), run by halmos in `make
/// test` (`make test-halmos`): each `check_` holds for ALL inputs of its types that satisfy its
/// assumptions, and any Panic counts as a failure. The properties stated over the whole formula are
/// in `PayoutMath.halmos.t.sol`, run on demand: a few of their solver queries do not finish yet.
contract PayoutMathLemmas {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// A distance grows as the value moves in the metric's direction, and between values within
    /// int128 it stays below 2^128 (so a bps share or a uint128 bonus times it stays below 2^256).
    function check_distanceGrowsAsTheValueMovesInTheMetricsDirection(int128 from, int128 v1, int128 v2, bool up)
        external
        pure
    {
        vm.assume(PayoutMath.reaches(v1, from, up) && PayoutMath.reaches(v2, v1, up));
        uint256 d1 = PayoutMath.distance(from, v1, up);
        uint256 d2 = PayoutMath.distance(from, v2, up);
        assert(d1 <= d2 && d2 < 2 ** 128);
    }

    /// Lower-is-better distances and comparisons are those of the negated values, higher-is-better.
    function check_negationKeepsDistancesAndComparisons(int256 from, int256 to) external pure {
        vm.assume(from != type(int256).min && to != type(int256).min);
        assert(PayoutMath.distance(from, to, false) == PayoutMath.distance(-from, -to, true));
        assert(PayoutMath.reaches(to, from, false) == PayoutMath.reaches(-to, -from, true));
    }

    /// The scaling of steps 1 and 3 (the share between floor and target, the bonus between target
    /// and stretch): never more than the whole, and never less for a larger distance covered.
    function check_scalingNeverExceedsTheWholeAndGrowsWithTheDistance(
        uint128 whole,
        uint128 d1,
        uint128 d2,
        uint128 span
    ) external pure {
        vm.assume(d1 <= d2 && d2 <= span && span > 0);
        uint256 r1 = Math.mulDiv(whole, d1, span);
        uint256 r2 = Math.mulDiv(whole, d2, span);
        assert(r1 <= r2 && r2 <= whole);
    }

    /// A bps share (steps 2, 5 and 6) is at most the whole, and grows with the whole and with the
    /// bps; the whole is below 2^129 (an amount plus a bonus, both uint128).
    function check_aBpsShareIsAtMostTheWholeAndGrowsWithBoth(uint256 x1, uint256 x2, uint256 k1, uint256 k2)
        external
        pure
    {
        vm.assume(x1 <= x2 && x2 < 2 ** 129 && k1 <= k2 && k2 <= PayoutMath.BPS);
        assert(PayoutMath.bpsOf(x1, k1) <= PayoutMath.bpsOf(x2, k1));
        assert(PayoutMath.bpsOf(x2, k1) <= PayoutMath.bpsOf(x2, k2));
        assert(PayoutMath.bpsOf(x2, k2) <= x2);
    }

    /// What a bps share leaves (net after the penalty, paid now after the holdback) never falls
    /// as the whole grows.
    function check_whatABpsShareLeavesGrowsWithTheWhole(uint256 x1, uint256 x2, uint256 k) external pure {
        vm.assume(x1 <= x2 && x2 < 2 ** 129 && k <= PayoutMath.BPS);
        assert(x1 - PayoutMath.bpsOf(x1, k) <= x2 - PayoutMath.bpsOf(x2, k));
    }

    /// The late penalty is capped, and never falls as the days late grow.
    function check_penaltyIsCappedAndGrowsWithDaysLate(uint64 days1, uint64 days2, uint16 perDay, uint16 cap)
        external
        pure
    {
        vm.assume(days1 <= days2);
        uint256 p1 = PayoutMath.penaltyBps(days1, perDay, cap);
        uint256 p2 = PayoutMath.penaltyBps(days2, perDay, cap);
        assert(p1 <= p2 && p2 <= cap);
    }

    /// Days late never fall as the observation comes later.
    function check_daysLateNeverFallWithLateness(uint64 deadline, uint64 earlier, uint64 later) external pure {
        vm.assume(earlier <= later);
        assert(PayoutMath.daysLate(deadline, earlier) <= PayoutMath.daysLate(deadline, later));
    }
}
