// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {AgreementTerms, Milestone, MilestoneStatus, Phase} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @notice Agreement creation, consent, funding and cancellation.
contract CreationTest is EscrowTestBase {
    /// @dev Terms of one default milestone in the mock token, not yet created.
    Milestone[] internal ms;
    AgreementTerms internal t;

    function setUp() public override {
        super.setUp();
        ms.push(_milestone());
        t = _terms(address(token), 1, ms);
    }

    /// @dev `caller` creates the terms, with the counterparty's consent `sig` or none.
    function _createAs(address caller, bytes memory sig) internal returns (bytes32 id) {
        vm.prank(caller);
        id = escrow.create(t, ms, sig);
    }

    function test_CreateWithCounterpartySignature_IsConsented() public {
        Milestone[] memory two = _milestones(2);
        AgreementTerms memory terms = _terms(address(token), 1, two);
        bytes memory sig = _consentSig(PROVIDER_KEY, terms);
        vm.prank(client);
        bytes32 id = escrow.create(terms, two, sig);
        (Phase phase, uint256 count, bytes32 termsHash) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Consented));
        vm.assertEq(count, 2);
        vm.assertEq(termsHash, id);
        vm.assertEq(id, escrow.hashTerms(terms));
    }

    function test_ClientProposes_ProviderConsentsByTransaction() public {
        bytes32 id = _createAs(client, "");
        _assertPhase(id, Phase.ProposedByClient);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.AgreementConsented(id, provider);
        vm.prank(provider);
        escrow.consent(id, t);
        _assertPhase(id, Phase.Consented);
    }

    function test_ProviderProposes_ClientConsentsAndFunds() public {
        t.token = address(0);
        bytes32 id = _createAs(provider, "");
        vm.prank(client);
        escrow.consent(id, t);
        vm.prank(client);
        escrow.fund{value: 110 ether}(id, t, ms);
        _assertPhase(id, Phase.Active);
        vm.assertEq(address(escrow).balance, 110 ether);
    }

    function test_RevertWhen_TheProposerConsentsToItsOwnProposal() public {
        bytes32 id = _createAs(client, "");
        _expectRevertFrom(client, abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, client));
        escrow.consent(id, t);
    }

    function test_RevertWhen_ConsentingToAConsentedAgreement() public {
        bytes32 id = _createAs(client, _consentSig(PROVIDER_KEY, t));
        _expectRevertFrom(provider, abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.Consented));
        escrow.consent(id, t);
    }

    function test_CreateAndFund_ERC20_PullsAmountPlusBonusOfEveryMilestone() public {
        uint256 before = token.balanceOf(client);
        (, bytes32 id) = _funded(address(token), _milestones(3));
        vm.assertEq(before - token.balanceOf(client), 330 ether);
        vm.assertEq(token.balanceOf(address(escrow)), 330 ether);
        _assertPhase(id, Phase.Active);
    }

    function test_CreateAndFund_EmitsTheTermsAndTheFunding() public {
        AgreementTerms memory terms = t;
        bytes32 id = escrow.hashTerms(terms);
        bytes memory sig = _consentSig(PROVIDER_KEY, terms);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.AgreementCreated(id, client, provider, terms, ms, Phase.Consented);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.AgreementFunded(id, client, 110 ether);
        vm.prank(client);
        escrow.createAndFund(terms, ms, sig);
    }

    function test_RevertWhen_CreateAndFundHasNoCounterpartySignature() public {
        _expectRevertFrom(client, abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        escrow.createAndFund(t, ms, "");
    }

    function test_RevertWhen_ConsentIsSignedByTheWrongKey() public {
        bytes memory sig = _consentSig(ARBITER_KEY, t);
        _expectRevertFrom(client, abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        escrow.create(t, ms, sig);
    }

    function test_RevertWhen_AStrangerCreates() public {
        _expectRevertFrom(stranger, abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, stranger));
        escrow.create(t, ms, "");
    }

    function test_RevertWhen_TheSameTermsAreCreatedTwice() public {
        bytes32 id = _createAndFund(t, ms);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        _expectRevertFrom(client, abi.encodeWithSelector(IMilestoneEscrow.AgreementExists.selector, id));
        escrow.create(t, ms, sig);
    }

    function test_RevertWhen_FundingBeforeConsent() public {
        bytes32 id = _createAs(client, "");
        bytes memory err = abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.ProposedByClient);
        _expectRevertFrom(client, err);
        escrow.fund(id, t, ms);
    }

    function test_RevertWhen_FundingWithTheWrongEtherAmount() public {
        t.token = address(0);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        bytes memory err = abi.encodeWithSelector(IMilestoneEscrow.WrongEtherAmount.selector, 110 ether, 109 ether);
        _expectRevertFrom(client, err);
        escrow.createAndFund{value: 109 ether}(t, ms, sig);
    }

    function test_RevertWhen_EtherComesWithATokenFunding() public {
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        _expectRevertFrom(client, abi.encodeWithSelector(IMilestoneEscrow.WrongEtherAmount.selector, 0, 1));
        escrow.createAndFund{value: 1}(t, ms, sig);
    }

    function test_RevertWhen_FundingWithOtherMilestones() public {
        bytes32 id = _createAs(client, _consentSig(PROVIDER_KEY, t));
        Milestone[] memory cheaper = _milestones(1);
        cheaper[0].amount = 1;
        _expectRevertFrom(
            client,
            abi.encodeWithSelector(IMilestoneEscrow.MilestonesRootMismatch.selector, t.milestonesRoot, _root(cheaper))
        );
        escrow.fund(id, t, cheaper);
    }

    function test_EitherPartyCancelsBeforeFunding() public {
        bytes32 id = _createAs(client, "");
        vm.prank(provider);
        escrow.cancel(id, t);
        _assertPhase(id, Phase.Cancelled);
        _expectRevertFrom(provider, abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.Cancelled));
        escrow.consent(id, t);
    }

    function test_RevertWhen_CancellingAFundedAgreement() public {
        bytes32 id = _createAndFund(t, ms);
        _expectRevertFrom(client, abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.Active));
        escrow.cancel(id, t);
    }

    function test_RevertWhen_AStrangerCancels() public {
        bytes32 id = _createAs(client, "");
        _expectRevertFrom(stranger, abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, stranger));
        escrow.cancel(id, t);
    }

    function test_RevertWhen_TheAgreementIsUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.UnknownAgreement.selector, bytes32(uint256(7))));
        escrow.consent(bytes32(uint256(7)), t);
    }

    function test_Getters_RevertForAnUnknownAgreement() public {
        bytes32 unknown = bytes32(uint256(7));
        bytes memory err = abi.encodeWithSelector(IMilestoneEscrow.UnknownAgreement.selector, unknown);
        vm.expectRevert(err);
        escrow.agreement(unknown);
        vm.expectRevert(err);
        escrow.milestoneStatus(unknown, 0);
        vm.expectRevert(err);
        escrow.milestoneExtra(unknown, 0);
    }

    function test_Getters_RevertForAMilestoneBeyondTheCount() public {
        (, bytes32 id) = _funded(address(token), _milestones(3));
        vm.assertEq(uint256(escrow.milestoneStatus(id, 2)), uint256(MilestoneStatus.Open));
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.MilestoneIndexOutOfRange.selector, 200, 3));
        escrow.milestoneStatus(id, 200);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.MilestoneIndexOutOfRange.selector, 3, 3));
        escrow.milestoneExtra(id, 3);
    }

    function test_RevertWhen_TermsDoNotMatchTheAgreement() public {
        bytes32 id = _createAndFund(t, ms);
        t.cureWindow = 1;
        _expectRevertFrom(
            client, abi.encodeWithSelector(IMilestoneEscrow.TermsMismatch.selector, id, escrow.hashTerms(t))
        );
        escrow.approveMilestone(id, t, 0);
    }
}

/// @notice Every validation of terms at creation.
contract TermsValidationTest is EscrowTestBase {
    function _expectCreateRevert(AgreementTerms memory t, Milestone[] memory ms, bytes memory err) internal {
        t.milestonesRoot = _root(ms);
        vm.expectRevert(err);
        vm.prank(client);
        escrow.create(t, ms, "");
    }

    function test_RevertWhen_PartiesAreMissingOrTheSame() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        t.provider = client;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.InvalidParties.selector, client, client));
        t.provider = address(0);
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.InvalidParties.selector, client, address(0)));
    }

    function test_RevertWhen_TheArbiterIsAParty() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        t.arbiter = provider;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.ArbiterIsParty.selector, provider));
    }

    function test_RevertWhen_TheOracleSetIsInvalid() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 0, ms);
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.InvalidOracleSet.selector, 3, 0));
        t.threshold = 4;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.InvalidOracleSet.selector, 3, 4));
        t.oracles = new address[](0);
        t.threshold = 1;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.InvalidOracleSet.selector, 0, 1));
        _setOracles(17);
        t.oracles = oracles;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.InvalidOracleSet.selector, 17, 1));
    }

    function test_RevertWhen_OraclesAreNotStrictlyAscending() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        (t.oracles[1], t.oracles[2]) = (t.oracles[2], t.oracles[1]);
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.OraclesNotAscending.selector, 2));
        t.oracles[2] = t.oracles[1];
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.OraclesNotAscending.selector, 2));
    }

    function test_RevertWhen_MilestoneCountIsZeroOrAbove112() public {
        Milestone[] memory none = new Milestone[](0);
        AgreementTerms memory t = _terms(address(token), 1, _milestones(1));
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidMilestoneCount.selector, 0));
        vm.prank(client);
        escrow.create(t, none, "");
        Milestone[] memory many = _milestones(113);
        _expectCreateRevert(t, many, abi.encodeWithSelector(IMilestoneEscrow.InvalidMilestoneCount.selector, 113));
    }

    function test_Accepts112Milestones() public {
        Milestone[] memory ms = _milestones(112);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes32 id = _createAndFund(t, ms);
        _settle(stranger, t, ms, id, 111, 9200);
        vm.assertEq(uint256(escrow.milestoneStatus(id, 111)), uint256(MilestoneStatus.Settled));
        vm.assertEq(uint256(escrow.milestoneStatus(id, 110)), uint256(MilestoneStatus.Open));
    }

    function test_RevertWhen_AMilestoneIsInvalid() public {
        Milestone[] memory ms = _milestones(2);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        ms[1].amount = 0;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.ZeroAmount.selector, 1));
        ms[1] = _milestone();
        ms[1].holdbackBps = 10_001;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.BpsOutOfRange.selector, 1, 10_001));
        ms[1] = _milestone();
        ms[1].floor = 9300;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.ThresholdsMisordered.selector, 1));
        ms[1] = _milestone();
        ms[1].stretch = ms[1].target;
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.BonusWithoutStretch.selector, 1));
        ms[1] = _milestone();
        ms[1].deadline = uint64(block.timestamp);
        _expectCreateRevert(
            t, ms, abi.encodeWithSelector(IMilestoneEscrow.DeadlineInPast.selector, 1, uint64(block.timestamp))
        );
    }

    function test_LowerIsBetterNeedsDescendingThresholds() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        ms[0].higherIsBetter = false; // 8000 <= 9200 <= 9600 is the wrong order now
        _expectCreateRevert(t, ms, abi.encodeWithSelector(IMilestoneEscrow.ThresholdsMisordered.selector, 0));
        (ms[0].floor, ms[0].target, ms[0].stretch) = (300, 200, 150);
        t.milestonesRoot = _root(ms);
        vm.prank(client);
        escrow.create(t, ms, "");
    }

    function test_RevertWhen_TheRootDoesNotMatchTheMilestones() public {
        Milestone[] memory ms = _milestones(2);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes32 claimed = t.milestonesRoot;
        ms[1].amount = 1;
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.MilestonesRootMismatch.selector, claimed, _root(ms)));
        vm.prank(client);
        escrow.create(t, ms, "");
    }
}
