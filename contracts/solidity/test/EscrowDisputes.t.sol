// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {EscrowHashing} from "../libraries/EscrowHashing.sol";
import {AgreementTerms, Attestation, Milestone, MilestoneStatus} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {packSettlement} from "./utils/SettlementPacking.sol";

/// @notice Disputes on milestones and holdbacks, with and without an arbiter.
contract DisputeTest is EscrowTestBase {
    function _fundedWith(address arbiter_, uint16 holdbackBps)
        internal
        returns (AgreementTerms memory t, Milestone[] memory m, bytes32 id)
    {
        m = _milestones(1);
        m[0].holdbackBps = holdbackBps;
        m[0].holdbackPeriod = 30 days;
        t = _terms(address(token), 1, m);
        t.arbiter = arbiter_;
        id = _createAndFund(t, m);
    }

    function test_ADisputedMilestoneNeitherSettlesNorReclaims() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(arbiter, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.DisputeOpened(id, 0, client, false);
        vm.prank(client);
        escrow.openDispute(id, t, 0);

        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(m, 0);
        bytes memory disputed =
            abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Disputed);
        vm.expectRevert(disputed);
        escrow.settleMilestonePacked(packSettlement(t, m[0], proof, a, sigs));
        vm.warp(m[0].deadline + t.cureWindow + 1);
        vm.expectRevert(disputed);
        vm.prank(client);
        escrow.reclaim(id, t, 0, m[0], proof);
    }

    function test_TheArbiterSplitsADisputedMilestone() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(arbiter, 0);
        vm.prank(provider);
        escrow.openDispute(id, t, 0);
        uint256 clientBefore = token.balanceOf(client);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.DisputeResolved(id, 0, false, 6000, 66 ether, 44 ether);
        vm.prank(arbiter);
        escrow.resolveDispute(id, t, 0, m[0], proof, 6000, "");
        vm.assertEq(token.balanceOf(provider), 66 ether);
        vm.assertEq(token.balanceOf(client) - clientBefore, 44 ether);
        vm.assertEq(uint256(escrow.milestoneStatus(id, 0)), uint256(MilestoneStatus.Closed));
    }

    function test_WithoutAnArbiter_APartySplitsWithTheOthersSignature() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(address(0), 0);
        vm.prank(client);
        escrow.openDispute(id, t, 0);
        bytes32[] memory proof = _proof(m, 0);
        bytes memory clientSplit = _partySig(CLIENT_KEY, EscrowHashing.hashDisputeSplit(id, 0, false, 2500));

        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, stranger));
        vm.prank(stranger);
        escrow.resolveDispute(id, t, 0, m[0], proof, 2500, clientSplit);

        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, client));
        vm.prank(provider);
        escrow.resolveDispute(id, t, 0, m[0], proof, 3000, clientSplit); // signed 2500, not 3000

        vm.prank(provider);
        escrow.resolveDispute(id, t, 0, m[0], proof, 2500, clientSplit);
        vm.assertEq(token.balanceOf(provider), 27.5 ether);
    }

    function test_RevertWhen_TheSplitExceeds10000Bps() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(arbiter, 0);
        vm.prank(client);
        escrow.openDispute(id, t, 0);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.BpsOutOfRange.selector, 0, 10_001));
        vm.prank(arbiter);
        escrow.resolveDispute(id, t, 0, m[0], proof, 10_001, "");
    }

    function test_RevertWhen_ResolvingAnUndisputedMilestone() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(arbiter, 0);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Open));
        vm.prank(arbiter);
        escrow.resolveDispute(id, t, 0, m[0], proof, 5000, "");
    }

    function test_RevertWhen_AStrangerOpensADispute() public {
        (AgreementTerms memory t,, bytes32 id) = _fundedWith(arbiter, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, arbiter));
        vm.prank(arbiter);
        escrow.openDispute(id, t, 0);
    }

    function test_AHoldbackDisputeFreezesItUntilSplit() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(arbiter, 1000);
        _settle(stranger, t, m, id, 0, 9700); // net 110, holdback 11
        vm.prank(client);
        escrow.openDispute(id, t, 0);
        (,,, bool disputed) = escrow.milestoneExtra(id, 0);
        vm.assertTrue(disputed);

        vm.warp(block.timestamp + 31 days);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.HoldbackDisputed.selector, 0));
        escrow.releaseHoldback(id, t, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.NothingToDispute.selector, 0));
        vm.prank(client);
        escrow.openDispute(id, t, 0);

        uint256 clientBefore = token.balanceOf(client);
        vm.prank(arbiter);
        escrow.resolveHoldbackDispute(id, t, 0, 0, "");
        vm.assertEq(token.balanceOf(client) - clientBefore, 11 ether);
        vm.assertEq(token.balanceOf(provider), 99 ether);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.NotDisputed.selector, 0));
        vm.prank(arbiter);
        escrow.resolveHoldbackDispute(id, t, 0, 0, "");
    }

    function test_RevertWhen_DisputingAHoldbackThatIsDue() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(arbiter, 1000);
        _settle(stranger, t, m, id, 0, 9200);
        vm.warp(block.timestamp + 30 days);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.NothingToDispute.selector, 0));
        vm.prank(client);
        escrow.openDispute(id, t, 0);
    }

    function test_RevertWhen_DisputingASettledMilestoneWithoutHoldback() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedWith(arbiter, 0);
        _settle(stranger, t, m, id, 0, 9200);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.NothingToDispute.selector, 0));
        vm.prank(client);
        escrow.openDispute(id, t, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.MilestoneIndexOutOfRange.selector, 1, 1));
        vm.prank(client);
        escrow.openDispute(id, t, 1);
    }
}
