// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Milestone, Payout} from "../../libraries/EscrowTypes.sol";
import {PayoutMath} from "../../libraries/PayoutMath.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Symbolic proofs of the settlement formula (escrow-semantics.md, "Settlement"), run by
/// halmos on demand (`make test-halmos HALMOS_PROOFS=PayoutMathHalmos`; some of their solver
/// queries do not finish yet, so `make test` runs the lemmas in `PayoutMathLemmas.halmos.t.sol`):
/// every `check_` function holds for ALL inputs that satisfy its assumptions, not only for sampled
/// ones. Every Panic (overflow, division by zero) counts as a
/// failure, so each proof also shows that `PayoutMath.compute` never reverts on valid terms.
/// The bounds below and the solver settings are documented in docs/contracts.md, "Proofs".
contract PayoutMathHalmos {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev The proofs' bounds, narrower than the escrow's (uint128 amounts, any int256 value)
    /// where the solver times out at full width: 2^96 base units is 79 billion tokens of 18 decimals.
    uint256 internal constant MAX_AMOUNT = 2 ** 96 - 1;
    int256 internal constant MAX_MAGNITUDE = type(int128).max;

    function _assumeWithinProofBounds(Milestone calldata m, int256 v) internal pure {
        vm.assume(m.amount <= MAX_AMOUNT && m.bonus <= MAX_AMOUNT);
        vm.assume(_small(m.floor) && _small(m.target) && _small(m.stretch) && _small(v));
    }

    function _small(int256 x) private pure returns (bool) {
        return -MAX_MAGNITUDE <= x && x <= MAX_MAGNITUDE;
    }

    /// @dev The terms the escrow accepts (`MilestoneEscrow._validateMilestone`): a non-zero amount,
    /// every bps field at most 10,000, thresholds ordered in the metric's direction, a stretch
    /// strictly beyond target whenever there is a bonus. The deadline is not bounded: the formula
    /// only compares it with observedAt.
    function _assumeAccepted(Milestone calldata m) internal pure {
        vm.assume(m.amount > 0);
        vm.assume(m.floorPayoutBps <= PayoutMath.BPS && m.latePenaltyBpsPerDay <= PayoutMath.BPS);
        vm.assume(m.maxLatePenaltyBps <= PayoutMath.BPS && m.holdbackBps <= PayoutMath.BPS);
        vm.assume(PayoutMath.reaches(m.target, m.floor, m.higherIsBetter));
        vm.assume(PayoutMath.reaches(m.stretch, m.target, m.higherIsBetter));
        vm.assume(m.bonus == 0 || m.stretch != m.target);
    }

    /// (a) Every wei of a milestone goes somewhere, exactly once: paidNow + holdback + refund ==
    /// amount + bonus, with each part within its bounds.
    function check_conservation(Milestone calldata m, int256 v, uint64 observedAt) external pure {
        _assumeAccepted(m);
        _assumeWithinProofBounds(m, v);
        Payout memory p = PayoutMath.compute(m, v, observedAt);
        assert(p.paidNow + p.holdback + p.refund == uint256(m.amount) + m.bonus);
        assert(p.earnedBps <= PayoutMath.BPS && p.bonusEarned <= m.bonus);
        assert(p.penaltyBps <= m.maxLatePenaltyBps && p.net == p.base + p.bonusEarned - p.penalty);
    }

    /// (b) A better value never pays less, in either direction: with the same terms and time, a
    /// value `better` at or beyond `worse` in the metric's direction pays at least as much now, holds
    /// back at least as much, and refunds at most as much.
    function check_betterValueNeverPaysLess(Milestone calldata m, int256 worse, int256 better, uint64 observedAt)
        external
        pure
    {
        _assumeAccepted(m);
        _assumeWithinProofBounds(m, worse);
        _assumeWithinProofBounds(m, better);
        vm.assume(PayoutMath.reaches(better, worse, m.higherIsBetter));
        Payout memory pw = PayoutMath.compute(m, worse, observedAt);
        Payout memory pb = PayoutMath.compute(m, better, observedAt);
        assert(pb.net >= pw.net && pb.paidNow >= pw.paidNow && pb.holdback >= pw.holdback);
        assert(pb.refund <= pw.refund);
    }

    /// (c) Lateness never pays more: the same value observed later pays at most as much.
    function check_laterNeverPaysMore(Milestone calldata m, int256 v, uint64 earlier, uint64 later) external pure {
        _assumeAccepted(m);
        _assumeWithinProofBounds(m, v);
        vm.assume(earlier <= later);
        Payout memory pe = PayoutMath.compute(m, v, earlier);
        Payout memory pl = PayoutMath.compute(m, v, later);
        assert(pl.net <= pe.net && pl.paidNow <= pe.paidNow && pl.holdback <= pe.holdback);
        assert(pl.refund >= pe.refund && pl.penaltyBps >= pe.penaltyBps);
    }

    /// (d) The direction normalisation is exact: a lower-is-better milestone pays exactly what the
    /// higher-is-better milestone with negated thresholds pays for the negated value (the rulebook's
    /// "negate value, floor, target, stretch"), field by field. type(int256).min has no negation, so
    /// it is excluded; PayoutMath itself never negates (check_conservation covers it there).
    function check_directionNormalisationIsExact(
        Milestone calldata down,
        Milestone calldata up,
        int256 v,
        uint64 observedAt
    ) external pure {
        vm.assume(!down.higherIsBetter && up.higherIsBetter);
        vm.assume(down.floor != type(int256).min && down.target != type(int256).min);
        vm.assume(down.stretch != type(int256).min && v != type(int256).min);
        vm.assume(up.floor == -down.floor && up.target == -down.target && up.stretch == -down.stretch);
        vm.assume(up.amount == down.amount && up.bonus == down.bonus && up.deadline == down.deadline);
        vm.assume(up.floorPayoutBps == down.floorPayoutBps && up.latePenaltyBpsPerDay == down.latePenaltyBpsPerDay);
        vm.assume(up.maxLatePenaltyBps == down.maxLatePenaltyBps && up.holdbackBps == down.holdbackBps);
        _assumeAccepted(down);
        _assumeWithinProofBounds(down, v);
        Payout memory pd = PayoutMath.compute(down, v, observedAt);
        Payout memory pu = PayoutMath.compute(up, -v, observedAt);
        assert(pd.earnedBps == pu.earnedBps && pd.base == pu.base && pd.bonusEarned == pu.bonusEarned);
        assert(pd.penaltyBps == pu.penaltyBps && pd.penalty == pu.penalty && pd.net == pu.net);
        assert(pd.holdback == pu.holdback && pd.paidNow == pu.paidNow && pd.refund == pu.refund);
    }
}
