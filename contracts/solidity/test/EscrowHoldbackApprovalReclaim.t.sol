// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {EscrowHashing} from "../libraries/EscrowHashing.sol";
import {AgreementTerms, Attestation, Milestone, MilestoneStatus} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {packSettlement} from "./utils/SettlementPacking.sol";

/// @notice Holdbacks, client approval, reclaim.
contract HoldbackApprovalReclaimTest is EscrowTestBase {
    function _withHoldback() internal view returns (Milestone[] memory m) {
        m = _milestones(1);
        m[0].bonus = 0;
        m[0].holdbackBps = 1000;
        m[0].holdbackPeriod = 30 days;
    }

    function test_HoldbackIsKeptThenReleasedToTheProviderByAnyone() public {
        Milestone[] memory m = _withHoldback();
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        _settle(stranger, t, m, id, 0, 9200);
        vm.assertEq(token.balanceOf(provider), 90 ether);
        (uint256 held, uint64 releaseAt,,) = escrow.milestoneExtra(id, 0);
        vm.assertEq(held, 10 ether);
        vm.assertEq(releaseAt, block.timestamp + 30 days);

        vm.warp(releaseAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.HoldbackNotDue.selector, releaseAt));
        escrow.releaseHoldback(id, t, 0);

        vm.warp(releaseAt);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.HoldbackReleased(id, 0, 10 ether);
        vm.prank(stranger);
        escrow.releaseHoldback(id, t, 0);
        vm.assertEq(token.balanceOf(provider), 100 ether);

        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.NoHoldback.selector, 0));
        escrow.releaseHoldback(id, t, 0);
    }

    function test_HoldbackAppliesAfterThePenalty() public {
        Milestone[] memory m = _withHoldback();
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        vm.warp(m[0].deadline + 2 days); // 2% penalty: net 98, holdback 9.8
        _settle(stranger, t, m, id, 0, 9200);
        vm.assertEq(token.balanceOf(provider), 88.2 ether);
        (uint256 held,,,) = escrow.milestoneExtra(id, 0);
        vm.assertEq(held, 9.8 ether);
        vm.assertEq(token.balanceOf(address(escrow)), 9.8 ether);
    }

    /// @dev A funded acceptance milestone (it waits for the client's approval), attested at target.
    function _attestedAwaitingApproval()
        internal
        returns (AgreementTerms memory t, Milestone[] memory m, bytes32 id, Attestation memory a, bytes memory sigs)
    {
        m = _milestones(1);
        m[0].requiresClientApproval = true;
        (t, id) = _funded(address(token), m);
        a = _attestation(id, 0, 9200);
        sigs = _oracleSigs(a, 1);
    }

    function test_RevertWhen_AnAcceptanceMilestoneLacksTheClientsApproval() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id, Attestation memory a, bytes memory sigs) =
            _attestedAwaitingApproval();
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.ClientApprovalMissing.selector, 0));
        escrow.settleMilestonePacked(packSettlement(t, m[0], proof, a, sigs));

        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, provider));
        vm.prank(provider);
        escrow.approveMilestone(id, t, 0);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.MilestoneApproved(id, 0, false);
        vm.prank(client);
        escrow.approveMilestone(id, t, 0);
        escrow.settleMilestonePacked(packSettlement(t, m[0], proof, a, sigs));
        vm.assertEq(token.balanceOf(provider), 100 ether);
    }

    function test_TheClientsApprovalMayComeAsASignature() public {
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id, Attestation memory a, bytes memory sigs) =
            _attestedAwaitingApproval();
        bytes memory approval = _partySig(CLIENT_KEY, EscrowHashing.hashApproval(id, 0));
        bytes memory forged = _partySig(PROVIDER_KEY, EscrowHashing.hashApproval(id, 0));
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.ClientApprovalMissing.selector, 0));
        escrow.settleWithConsents(packSettlement(t, m[0], proof, a, sigs), forged, "");
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.MilestoneApproved(id, 0, true);
        escrow.settleWithConsents(packSettlement(t, m[0], proof, a, sigs), approval, "");
        vm.assertEq(token.balanceOf(provider), 100 ether);
    }

    function test_ReclaimOpensStrictlyAfterDeadlinePlusCureWindow() public {
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        uint256 opensAfter = m[0].deadline + t.cureWindow;
        bytes32[] memory proof = _proof(m, 0);
        vm.warp(opensAfter);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.ReclaimTooEarly.selector, opensAfter));
        vm.prank(client);
        escrow.reclaim(id, t, 0, m[0], proof);

        vm.warp(opensAfter + 1);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, provider));
        vm.prank(provider);
        escrow.reclaim(id, t, 0, m[0], proof);

        uint256 before = token.balanceOf(client);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.MilestoneReclaimed(id, 0, 110 ether);
        vm.prank(client);
        escrow.reclaim(id, t, 0, m[0], proof);
        vm.assertEq(token.balanceOf(client) - before, 110 ether);
        vm.assertEq(uint256(escrow.milestoneStatus(id, 0)), uint256(MilestoneStatus.Closed));
    }

    function test_RevertWhen_ReclaimingASettledMilestone() public {
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        _settle(stranger, t, m, id, 0, 9200);
        vm.warp(m[0].deadline + t.cureWindow + 1);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Settled)
        );
        vm.prank(client);
        escrow.reclaim(id, t, 0, m[0], proof);
    }
}
