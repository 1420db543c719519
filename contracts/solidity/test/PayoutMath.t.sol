// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Milestone, Payout} from "../libraries/EscrowTypes.sol";
import {PayoutMath} from "../libraries/PayoutMath.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @notice Fuzz tests of the payout formula through the escrow's pure `previewPayout`, and of the
/// settlement's own path (`PayoutMath.amounts`) against it.
contract PayoutMathTest is EscrowTestBase {
    /// @dev A valid milestone from raw fuzz input: thresholds ordered in the metric's direction,
    /// bps within range, a stretch strictly beyond target whenever there is a bonus.
    function _milestoneFrom(uint256 seed, int256 a, int256 b, int256 c, bool up)
        internal
        pure
        returns (Milestone memory m)
    {
        (a, b, c) = _sorted(a, b, c);
        if (!up) (a, c) = (c, a);
        m.amount = uint128(bound(seed, 1, type(uint128).max));
        m.bonus = uint128(bound(uint256(keccak256(abi.encode(seed, 1))), 0, type(uint128).max));
        if (b == c) m.bonus = 0;
        (m.floor, m.target, m.stretch) = (a, b, c);
        m.higherIsBetter = up;
        m.floorPayoutBps = uint16(bound(uint256(keccak256(abi.encode(seed, 2))), 0, 10_000));
        m.latePenaltyBpsPerDay = uint16(bound(uint256(keccak256(abi.encode(seed, 3))), 0, 10_000));
        m.maxLatePenaltyBps = uint16(bound(uint256(keccak256(abi.encode(seed, 4))), 0, 10_000));
        m.holdbackBps = uint16(bound(uint256(keccak256(abi.encode(seed, 5))), 0, 10_000));
        m.deadline = uint64(bound(uint256(keccak256(abi.encode(seed, 6))), 0, type(uint64).max));
    }

    function _sorted(int256 a, int256 b, int256 c) internal pure returns (int256, int256, int256) {
        if (a > b) (a, b) = (b, a);
        if (b > c) (b, c) = (c, b);
        if (a > b) (a, b) = (b, a);
        return (a, b, c);
    }

    function testFuzz_PayoutConservesFunds(uint256 seed, int256 a, int256 b, int256 c, bool up, int256 v, uint64 t)
        public
        view
    {
        Milestone memory m = _milestoneFrom(seed, a, b, c, up);
        Payout memory p = escrow.previewPayout(m, v, t);
        vm.assertEq(p.paidNow + p.holdback + p.refund, uint256(m.amount) + m.bonus);
        vm.assertEq(p.net, p.base + p.bonusEarned - p.penalty);
        vm.assertLe(p.earnedBps, 10_000);
        vm.assertLe(p.bonusEarned, m.bonus);
        vm.assertLe(p.penaltyBps, m.maxLatePenaltyBps);
    }

    function testFuzz_ASettlementMovesWhatThePreviewSays(
        uint256 seed,
        int256 a,
        int256 b,
        int256 c,
        bool up,
        int256 v,
        uint64 t
    ) public pure {
        Milestone memory m = _milestoneFrom(seed, a, b, c, up);
        Payout memory p = PayoutMath.compute(m, v, t);
        (uint256 paidNow, uint256 holdback, uint256 refund) = PayoutMath.amounts(m, v, t);
        vm.assertEq(paidNow, p.paidNow);
        vm.assertEq(holdback, p.holdback);
        vm.assertEq(refund, p.refund);
    }

    function testFuzz_ABetterValueNeverPaysLess(uint256 seed, int256 a, int256 b, int256 c, bool up, int256 v, int256 w)
        public
        view
    {
        Milestone memory m = _milestoneFrom(seed, a, b, c, up);
        (int256 worse, int256 better) = (up == (v <= w)) ? (v, w) : (w, v);
        Payout memory pw = escrow.previewPayout(m, worse, m.deadline);
        Payout memory pb = escrow.previewPayout(m, better, m.deadline);
        vm.assertGe(pb.net, pw.net);
    }

    function testFuzz_AtOrBeyondFloorEarnsAtLeastTheFloorShare(uint256 seed, int256 a, int256 b, int256 c, int256 v)
        public
        view
    {
        Milestone memory m = _milestoneFrom(seed, a, b, c, true);
        v = boundInt(v, m.floor, type(int256).max);
        Payout memory p = escrow.previewPayout(m, v, m.deadline);
        vm.assertGe(p.earnedBps, m.floorPayoutBps);
        vm.assertEq(p.penalty, 0);
    }

    function testFuzz_LowerIsBetterMirrorsHigherIsBetter(uint256 seed, int128 a, int128 b, int128 c, int128 v, uint64 t)
        public
        view
    {
        Milestone memory up = _milestoneFrom(seed, a, b, c, true);
        Milestone memory down = _milestoneFrom(seed, a, b, c, true); // a copy: memory structs alias
        down.higherIsBetter = false;
        (down.floor, down.target, down.stretch) = (-up.floor, -up.target, -up.stretch);
        Payout memory pu = escrow.previewPayout(up, v, t);
        Payout memory pd = escrow.previewPayout(down, -int256(v), t);
        vm.assertEq(keccak256(abi.encode(pu)), keccak256(abi.encode(pd)));
    }

    function testFuzz_ExtremeValuesNeverRevert(uint256 seed, bool up, uint64 t) public view {
        Milestone memory m = _milestoneFrom(seed, type(int256).min, 0, type(int256).max, up);
        escrow.previewPayout(m, type(int256).min, t);
        escrow.previewPayout(m, type(int256).max, t);
        escrow.previewPayout(m, 0, t);
    }

    function test_WorkedExample_PartialLateWithHoldback() public view {
        Milestone memory m = _milestone(); // 100 + 10 bonus, 8000/9200/9600, floor share 5000
        m.holdbackBps = 1000;
        // value 9000: earnedBps = 5000 + 5000 * 1000 / 1200 = 9166; base = 91.66
        // 3 days and 1 second late: 4 started days * 100 = 400 bps; penalty = 3.6664; net = 87.9936
        // holdback = 8.79936; paidNow = 79.19424; refund = 110 - 87.9936 = 22.0064
        Payout memory p = escrow.previewPayout(m, 9000, m.deadline + 3 days + 1);
        vm.assertEq(p.earnedBps, 9166);
        vm.assertEq(p.base, 91.66 ether);
        vm.assertEq(p.bonusEarned, 0);
        vm.assertEq(p.penaltyBps, 400);
        vm.assertEq(p.penalty, 3.6664 ether);
        vm.assertEq(p.net, 87.9936 ether);
        vm.assertEq(p.holdback, 8.79936 ether);
        vm.assertEq(p.paidNow, 79.19424 ether);
        vm.assertEq(p.refund, 22.0064 ether);
    }

    function test_EveryDivisionRoundsDown() public view {
        Milestone memory m = _milestone();
        m.amount = 3;
        m.bonus = 0;
        m.stretch = m.target;
        m.floorPayoutBps = 0;
        // value 8600: earnedBps = 10000 * 600 / 1200 = 5000; base = 3 * 5000 / 10000 = 1 (1.5 rounded down)
        Payout memory p = escrow.previewPayout(m, 8600, m.deadline);
        vm.assertEq(p.base, 1);
        vm.assertEq(p.refund, 2);
    }
}
