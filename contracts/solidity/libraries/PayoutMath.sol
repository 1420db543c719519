// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Milestone, Payout} from "./EscrowTypes.sol";

/// @title PayoutMath
/// @notice The settlement formula of escrow-semantics.md, steps 1 to 7, with no storage access.
/// Mirrored line for line by `attestpay/payout.py`; a differential test keeps the two equal.
/// @dev Instead of negating lower-is-better values (which overflows at type(int256).min) every
/// comparison and distance is taken in the metric's own direction. Distances are computed as
/// unsigned two's-complement differences, exact for any pair of int256 values, and scaled with
/// `Math.mulDiv`, so no input can overflow. Every division rounds down. Each step goes through the
/// helpers below, which `PayoutMathLemmas.halmos.t.sol` proves facts about for all inputs.
library PayoutMath {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant DAY = 86_400;

    /// @notice Every figure of the settlement of `m` on `value` observed at `observedAt`.
    function compute(Milestone memory m, int256 value, uint64 observedAt) internal pure returns (Payout memory p) {
        p.earnedBps = earnedBps(m, value); // 1. earned share of the base amount
        p.base = bpsOf(m.amount, p.earnedBps); // 2. base
        p.bonusEarned = bonusEarned(m, value); // 3. bonus
        // 4. late penalty, per started day after the deadline
        p.penaltyBps = penaltyBps(daysLate(m.deadline, observedAt), m.latePenaltyBpsPerDay, m.maxLatePenaltyBps);
        // 5. net
        uint256 gross = p.base + p.bonusEarned;
        p.penalty = bpsOf(gross, p.penaltyBps);
        p.net = gross - p.penalty;
        (p.paidNow, p.holdback, p.refund) = split(m, p.net); // 6. holdback, 7. refund
    }

    /// @notice What a settlement moves, exactly as `compute` gives it, without the memory record
    /// (the escrow's settlement needs only these three).
    function amounts(Milestone memory m, int256 value, uint64 observedAt)
        internal
        pure
        returns (uint256 paidNow, uint256 holdback, uint256 refund)
    {
        uint256 gross = bpsOf(m.amount, earnedBps(m, value)) + bonusEarned(m, value);
        uint256 penalty =
            bpsOf(gross, penaltyBps(daysLate(m.deadline, observedAt), m.latePenaltyBpsPerDay, m.maxLatePenaltyBps));
        return split(m, gross - penalty);
    }

    /// @notice Step 1: the earned share of the base amount, in bps.
    function earnedBps(Milestone memory m, int256 value) internal pure returns (uint256) {
        bool up = m.higherIsBetter;
        if (!reaches(value, m.floor, up)) return 0;
        if (reaches(value, m.target, up)) return BPS;
        return m.floorPayoutBps
            + Math.mulDiv(BPS - m.floorPayoutBps, distance(m.floor, value, up), distance(m.floor, m.target, up));
    }

    /// @notice Step 3: the bonus, linear from target to stretch.
    function bonusEarned(Milestone memory m, int256 value) internal pure returns (uint256) {
        bool up = m.higherIsBetter;
        if (m.bonus == 0 || reaches(m.target, value, up)) return 0;
        if (reaches(value, m.stretch, up)) return m.bonus;
        return Math.mulDiv(m.bonus, distance(m.target, value, up), distance(m.target, m.stretch, up));
    }

    /// @notice Steps 6 and 7: the holdback kept from `net`, the rest paid now, and the client's refund.
    function split(Milestone memory m, uint256 net)
        internal
        pure
        returns (uint256 paidNow, uint256 holdback, uint256 refund)
    {
        holdback = bpsOf(net, m.holdbackBps);
        paidNow = net - holdback;
        unchecked {
            refund = uint256(m.amount) + m.bonus - net; // net <= base + bonusEarned <= amount + bonus
        }
    }

    /// @notice Whether `value` is at or beyond `mark` in the metric's direction.
    function reaches(int256 value, int256 mark, bool higherIsBetter) internal pure returns (bool) {
        return higherIsBetter ? value >= mark : value <= mark;
    }

    /// @notice |to - from| for `to` at or beyond `from` in the metric's direction; exact for all int256.
    function distance(int256 from, int256 to, bool higherIsBetter) internal pure returns (uint256) {
        unchecked {
            return higherIsBetter ? uint256(to) - uint256(from) : uint256(from) - uint256(to);
        }
    }

    /// @notice `bps` basis points of `x`, rounded down. Exact while x * bps < 2^256: every use here
    /// has x < 2^129 (amounts and bonuses are uint128) and bps < 2^16, so the product stays below 2^145.
    function bpsOf(uint256 x, uint256 bps) internal pure returns (uint256) {
        unchecked {
            return x * bps / BPS;
        }
    }

    /// @notice The late penalty in bps: `perDay` for each started day late, at most `cap`.
    function penaltyBps(uint64 daysLate_, uint16 perDay, uint16 cap) internal pure returns (uint256) {
        uint256 uncapped;
        unchecked {
            uncapped = uint256(daysLate_) * perDay; // below 2^80
        }
        return uncapped < cap ? uncapped : cap;
    }

    /// @notice Started days between the deadline and the observation; 0 when on time.
    function daysLate(uint64 deadline, uint64 observedAt) internal pure returns (uint64) {
        return observedAt <= deadline ? 0 : uint64(Math.ceilDiv(observedAt - deadline, DAY));
    }
}
