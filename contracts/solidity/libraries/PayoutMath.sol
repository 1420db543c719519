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

    function compute(Milestone calldata m, int256 value, uint64 observedAt) internal pure returns (Payout memory p) {
        bool up = m.higherIsBetter;

        // 1. earned share of the base amount
        if (!reaches(value, m.floor, up)) {
            p.earnedBps = 0;
        } else if (reaches(value, m.target, up)) {
            p.earnedBps = BPS;
        } else {
            p.earnedBps = m.floorPayoutBps
                + Math.mulDiv(BPS - m.floorPayoutBps, distance(m.floor, value, up), distance(m.floor, m.target, up));
        }
        // 2. base
        p.base = bpsOf(m.amount, p.earnedBps);
        // 3. bonus, linear from target to stretch
        if (m.bonus == 0 || reaches(m.target, value, up)) {
            p.bonusEarned = 0;
        } else if (reaches(value, m.stretch, up)) {
            p.bonusEarned = m.bonus;
        } else {
            p.bonusEarned = Math.mulDiv(m.bonus, distance(m.target, value, up), distance(m.target, m.stretch, up));
        }
        // 4. late penalty, per started day after the deadline
        p.penaltyBps = penaltyBps(daysLate(m.deadline, observedAt), m.latePenaltyBpsPerDay, m.maxLatePenaltyBps);
        // 5. net
        uint256 gross = p.base + p.bonusEarned;
        p.penalty = bpsOf(gross, p.penaltyBps);
        p.net = gross - p.penalty;
        // 6. holdback
        p.holdback = bpsOf(p.net, m.holdbackBps);
        p.paidNow = p.net - p.holdback;
        // 7. refund to the client
        p.refund = uint256(m.amount) + m.bonus - p.net;
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

    /// @notice `bps` basis points of `x`, rounded down.
    function bpsOf(uint256 x, uint256 bps) internal pure returns (uint256) {
        return x * bps / BPS;
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
