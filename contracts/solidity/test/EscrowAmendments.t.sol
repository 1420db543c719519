// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {EscrowHashing} from "../libraries/EscrowHashing.sol";
import {AgreementTerms, Attestation, Milestone} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {packSettlement} from "./utils/SettlementPacking.sol";

/// @notice Consented changes: add a milestone, extend a deadline, rotate the oracle set.
contract AmendmentTest is EscrowTestBase {
    Milestone[] internal ms;
    AgreementTerms internal t;
    bytes32 internal id;

    function setUp() public override {
        super.setUp();
        ms.push(_milestone());
        t = _terms(address(token), 1, ms);
        id = _createAndFund(t, ms);
    }

    function _amendmentSig(uint256 key, AgreementTerms memory next) internal view returns (bytes memory) {
        return _partySig(key, EscrowHashing.hashAmendment(id, escrow.hashTerms(t), escrow.hashTerms(next)));
    }

    /// @dev The terms after the first consented change, which leaves the agreement with milestones `next`.
    function _revised(Milestone[] memory next) internal view returns (AgreementTerms memory t2) {
        t2 = t;
        t2.revision = 1;
        t2.milestonesRoot = _root(next);
    }

    /// @dev The milestone with its deadline moved to `later`, the revised terms and the client's consent.
    function _deadlineMovedTo(uint64 later)
        internal
        view
        returns (Milestone[] memory next, AgreementTerms memory t2, bytes memory sig)
    {
        next = new Milestone[](1);
        next[0] = ms[0];
        next[0].deadline = later;
        t2 = _revised(next);
        sig = _amendmentSig(CLIENT_KEY, t2);
    }

    function test_AddMilestone_FundedByTheCallerAndSettleable() public {
        Milestone[] memory next = new Milestone[](2);
        next[0] = ms[0];
        next[1] = _milestone();
        next[1].amount = 50 ether;
        next[1].bonus = 0;
        AgreementTerms memory t2 = _revised(next);
        bytes memory sig = _amendmentSig(PROVIDER_KEY, t2);
        bytes32[] memory leaves = _leaves(ms);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.TermsAmended(id, 1, escrow.hashTerms(t2));
        vm.prank(client);
        escrow.addMilestone(id, t, leaves, next[1], sig);
        (, uint256 count, bytes32 termsHash) = escrow.agreement(id);
        vm.assertEq(count, 2);
        vm.assertEq(termsHash, escrow.hashTerms(t2));
        vm.assertEq(token.balanceOf(address(escrow)), 160 ether);

        _settle(stranger, t2, next, id, 1, 9200);
        vm.assertEq(token.balanceOf(provider), 50 ether);
    }

    function test_RevertWhen_OldTermsAreUsedAfterAnAmendment() public {
        test_AddMilestone_FundedByTheCallerAndSettleable();
        vm.expectRevert();
        vm.prank(client);
        escrow.approveMilestone(id, t, 0);
    }

    function test_ExtendDeadline_MovesTheReclaimWindow() public {
        uint64 later = ms[0].deadline + 10 days;
        (Milestone[] memory next, AgreementTerms memory t2, bytes memory sig) = _deadlineMovedTo(later);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.DeadlineExtended(id, 0, later);
        vm.prank(provider);
        escrow.extendDeadline(id, t, 0, ms[0], proof, later, sig);

        vm.warp(ms[0].deadline + t.cureWindow + 1); // the old window has passed, the new one has not
        bytes32[] memory proof2 = _proof(next, 0);
        uint256 opensAfter = uint256(later) + t.cureWindow;
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.ReclaimTooEarly.selector, opensAfter));
        vm.prank(client);
        escrow.reclaim(id, t2, 0, next[0], proof2);
    }

    function test_RevertWhen_ADeadlineMovesEarlier() public {
        bytes32[] memory proof = _proof(ms, 0);
        uint64 earlier = ms[0].deadline - 1;
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.DeadlineNotExtended.selector, ms[0].deadline, earlier));
        vm.prank(provider);
        escrow.extendDeadline(id, t, 0, ms[0], proof, earlier, "");
    }

    function test_RotateOracles_OldSignersAreRefusedNewOnesAccepted() public {
        (uint256 k0, uint256 k1) = (0xF1, 0xF2);
        if (vm.addr(k1) < vm.addr(k0)) (k0, k1) = (k1, k0);
        address[] memory fresh = new address[](2);
        (fresh[0], fresh[1]) = (vm.addr(k0), vm.addr(k1));
        AgreementTerms memory t2 = t;
        t2.oracles = fresh;
        t2.threshold = 2;
        t2.revision = 1;
        bytes memory sig = _amendmentSig(PROVIDER_KEY, t2);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.OraclesRotated(id, fresh, 2);
        vm.prank(client);
        escrow.rotateOracles(id, t, fresh, 2, sig);

        Attestation memory a = _attestation(id, 0, 9200);
        bytes32[] memory proof = _proof(ms, 0);
        bytes memory oldSigs = _oracleSigs(a, 2);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.SignerNotInOracleSet.selector, oracles[0]));
        escrow.settleMilestonePacked(packSettlement(t2, ms[0], proof, a, oldSigs));

        bytes32 digest = escrow.attestationDigest(a);
        bytes memory newSigs = bytes.concat(_sig(k0, digest), _sig(k1, digest));
        escrow.settleMilestonePacked(packSettlement(t2, ms[0], proof, a, newSigs));
        vm.assertEq(token.balanceOf(provider), 100 ether);
    }

    function test_RevertWhen_AnAmendmentSignatureIsReplayed() public {
        uint64 later = ms[0].deadline + 10 days;
        (Milestone[] memory next, AgreementTerms memory t2, bytes memory sig) = _deadlineMovedTo(later);
        bytes32[] memory proof = _proof(ms, 0);
        vm.prank(provider);
        escrow.extendDeadline(id, t, 0, ms[0], proof, later, sig);
        // Replaying the same signature against the new terms: the revision moved on.
        bytes32[] memory proof2 = _proof(next, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, client));
        vm.prank(provider);
        escrow.extendDeadline(id, t2, 0, next[0], proof2, later + 1, sig);
    }

    function test_RevertWhen_AnAmendmentLacksTheCounterpartysSignature() public {
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        vm.prank(client);
        escrow.extendDeadline(id, t, 0, ms[0], proof, ms[0].deadline + 1, "");
    }
}
