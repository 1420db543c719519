// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PayoutMath} from "../../libraries/PayoutMath.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Symbolic proofs of the facts about `PayoutMath`'s helpers that the rulebook's properties
/// are composed from (docs/contracts.md, "Proofs"), run by halmos in `make test` (`make
/// test-halmos`): each `check_` holds for ALL inputs of its types that satisfy its assumptions, and
/// any Panic counts as a failure. The properties over the whole formula are in
/// `PayoutMath.halmos.t.sol`, run on demand: their solver queries do not finish yet.
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

    /// Days late never fall as the observation comes later.
    function check_daysLateNeverFallWithLateness(uint64 deadline, uint64 earlier, uint64 later) external pure {
        vm.assume(earlier <= later);
        assert(PayoutMath.daysLate(deadline, earlier) <= PayoutMath.daysLate(deadline, later));
    }
}
