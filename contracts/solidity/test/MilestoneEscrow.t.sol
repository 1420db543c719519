// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {EscrowHashing} from "../libraries/EscrowHashing.sol";
import {AgreementTerms, Attestation, Milestone, MilestoneStatus, Phase} from "../libraries/EscrowTypes.sol";
import {ForwardingWallet} from "./utils/ForwardingWallet.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @notice Agreement creation, consent, funding and cancellation.
contract CreationTest is EscrowTestBase {
    function test_CreateWithCounterpartySignature_IsConsented() public {
        Milestone[] memory ms = _milestones(2);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, sig);
        (Phase phase, uint256 count, bytes32 termsHash) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Consented));
        vm.assertEq(count, 2);
        vm.assertEq(termsHash, id);
        vm.assertEq(id, escrow.hashTerms(t));
    }

    function test_ClientProposes_ProviderConsentsByTransaction() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, "");
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.ProposedByClient));

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.AgreementConsented(id, provider);
        vm.prank(provider);
        escrow.consent(id, t);
        (phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Consented));
    }

    function test_ProviderProposes_ClientConsentsAndFunds() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(0), 1, ms);
        vm.prank(provider);
        bytes32 id = escrow.create(t, ms, "");
        vm.prank(client);
        escrow.consent(id, t);
        vm.prank(client);
        escrow.fund{value: 110 ether}(id, t, ms);
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Active));
        vm.assertEq(address(escrow).balance, 110 ether);
    }

    function test_RevertWhen_TheProposerConsentsToItsOwnProposal() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, "");
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, client));
        vm.prank(client);
        escrow.consent(id, t);
    }

    function test_RevertWhen_ConsentingToAConsentedAgreement() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, sig);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.Consented));
        vm.prank(provider);
        escrow.consent(id, t);
    }

    function test_CreateAndFund_ERC20_PullsAmountPlusBonusOfEveryMilestone() public {
        Milestone[] memory ms = _milestones(3);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        uint256 before = token.balanceOf(client);
        bytes32 id = _createAndFund(t, ms);
        vm.assertEq(before - token.balanceOf(client), 330 ether);
        vm.assertEq(token.balanceOf(address(escrow)), 330 ether);
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Active));
    }

    function test_CreateAndFund_EmitsTheTermsAndTheFunding() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes32 id = escrow.hashTerms(t);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.AgreementCreated(id, client, provider, t, ms, Phase.Consented);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.AgreementFunded(id, client, 110 ether);
        vm.prank(client);
        escrow.createAndFund(t, ms, sig);
    }

    function test_RevertWhen_CreateAndFundHasNoCounterpartySignature() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        vm.prank(client);
        escrow.createAndFund(t, ms, "");
    }

    function test_RevertWhen_ConsentIsSignedByTheWrongKey() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes memory sig = _consentSig(ARBITER_KEY, t);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        vm.prank(client);
        escrow.create(t, ms, sig);
    }

    function test_RevertWhen_AStrangerCreates() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, stranger));
        vm.prank(stranger);
        escrow.create(t, ms, "");
    }

    function test_RevertWhen_TheSameTermsAreCreatedTwice() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes32 id = _createAndFund(t, ms);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.AgreementExists.selector, id));
        vm.prank(client);
        escrow.create(t, ms, sig);
    }

    function test_RevertWhen_FundingBeforeConsent() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, "");
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.ProposedByClient));
        vm.prank(client);
        escrow.fund(id, t, ms);
    }

    function test_RevertWhen_FundingWithTheWrongEtherAmount() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(0), 1, ms);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongEtherAmount.selector, 110 ether, 109 ether));
        vm.prank(client);
        escrow.createAndFund{value: 109 ether}(t, ms, sig);
    }

    function test_RevertWhen_EtherComesWithATokenFunding() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongEtherAmount.selector, 0, 1));
        vm.prank(client);
        escrow.createAndFund{value: 1}(t, ms, sig);
    }

    function test_RevertWhen_FundingWithOtherMilestones() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, sig);
        Milestone[] memory cheaper = _milestones(1);
        cheaper[0].amount = 1;
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.MilestonesRootMismatch.selector, t.milestonesRoot, _root(cheaper))
        );
        vm.prank(client);
        escrow.fund(id, t, cheaper);
    }

    function test_EitherPartyCancelsBeforeFunding() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, "");
        vm.prank(provider);
        escrow.cancel(id, t);
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Cancelled));
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.Cancelled));
        vm.prank(provider);
        escrow.consent(id, t);
    }

    function test_RevertWhen_CancellingAFundedAgreement() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes32 id = _createAndFund(t, ms);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id, Phase.Active));
        vm.prank(client);
        escrow.cancel(id, t);
    }

    function test_RevertWhen_AStrangerCancels() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, "");
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, stranger));
        vm.prank(stranger);
        escrow.cancel(id, t);
    }

    function test_RevertWhen_TheAgreementIsUnknown() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.UnknownAgreement.selector, bytes32(uint256(7))));
        escrow.consent(bytes32(uint256(7)), t);
    }

    function test_RevertWhen_TermsDoNotMatchTheAgreement() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes32 id = _createAndFund(t, ms);
        t.cureWindow = 1;
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.TermsMismatch.selector, id, escrow.hashTerms(t)));
        vm.prank(client);
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

/// @notice Settlement: the payout formula as paid out, who may settle, and every attestation check.
/// Default milestone: amount 100, bonus 10 (ether), floor 8000, target 9200, stretch 9600,
/// floorPayoutBps 5000, late penalty 100 bps/day capped at 1000.
contract SettlementTest is EscrowTestBase {
    Milestone[] internal ms;
    AgreementTerms internal t;
    bytes32 internal id;

    function setUp() public override {
        super.setUp();
        Milestone[] memory m = _milestones(2);
        for (uint256 i = 0; i < m.length; ++i) {
            ms.push(m[i]);
        }
        t = _terms(address(token), 2, ms);
        id = _createAndFund(t, ms);
    }

    function _settleAs(address caller, int256 value) internal {
        _settle(caller, t, ms, id, 0, value);
    }

    function _assertPaid(uint256 toProvider, uint256 toClient) internal view {
        vm.assertEq(token.balanceOf(provider), toProvider, "provider");
        vm.assertEq(token.balanceOf(client), 1e30 - 220 ether + toClient, "client");
    }

    function test_AtTarget_AnyonePaysTheAmountAndRefundsTheBonus() public {
        _settleAs(stranger, 9200);
        _assertPaid(100 ether, 10 ether);
        vm.assertEq(uint256(escrow.milestoneStatus(id, 0)), uint256(MilestoneStatus.Settled));
    }

    function test_BetweenTargetAndStretch_TheBonusIsLinear() public {
        _settleAs(stranger, 9400); // bonus 10 * 200 / 400
        _assertPaid(105 ether, 5 ether);
    }

    function test_BeyondStretch_TheWholeBonusIsPaid() public {
        _settleAs(client, 9700);
        _assertPaid(110 ether, 0);
    }

    function test_BelowTarget_TheProviderAcceptsAPartialPayment() public {
        _settleAs(provider, 9000); // earnedBps = 5000 + 5000 * 1000 / 1200 = 9166
        _assertPaid(91.66 ether, 18.34 ether);
    }

    function test_AtFloor_TheFloorShareIsPaid() public {
        _settleAs(provider, 8000);
        _assertPaid(50 ether, 60 ether);
    }

    function test_BelowFloor_NothingIsPaidAndEverythingIsRefunded() public {
        _settleAs(provider, 7999);
        _assertPaid(0, 110 ether);
    }

    function test_RevertWhen_SomeoneElseSettlesBelowTarget() public {
        Attestation memory a = _attestation(id, 0, 9000);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.PartialResultNotAccepted.selector, int256(9000), int256(9200))
        );
        vm.prank(client);
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_ARelayerSettlesBelowTargetWithTheProvidersSignature() public {
        Attestation memory a = _attestation(id, 0, 9000);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32 digest = escrow.attestationDigest(a);
        bytes memory acceptance = _partySig(PROVIDER_KEY, EscrowHashing.hashPartialAcceptance(id, 0, 9000, digest));
        bytes32[] memory proof = _proof(ms, 0);
        vm.prank(stranger);
        escrow.settleWithConsents(t, ms[0], proof, a, sigs, "", acceptance);
        _assertPaid(91.66 ether, 18.34 ether);
    }

    function test_RevertWhen_TheProvidersAcceptanceIsForAnotherValue() public {
        Attestation memory a = _attestation(id, 0, 9000);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes memory acceptance =
            _partySig(PROVIDER_KEY, EscrowHashing.hashPartialAcceptance(id, 0, 9100, escrow.attestationDigest(a)));
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.PartialResultNotAccepted.selector, int256(9000), int256(9200))
        );
        escrow.settleWithConsents(t, ms[0], proof, a, sigs, "", acceptance);
    }

    function test_LatePenalty_CountsEveryStartedDayAfterTheDeadline() public {
        vm.warp(ms[0].deadline + 1 days); // exactly one day late
        _settleAs(stranger, 9200);
        _assertPaid(99 ether, 11 ether);
        vm.warp(ms[1].deadline + 1 days + 1); // a second day started
        _settle(stranger, t, ms, id, 1, 9200);
        _assertPaid(99 ether + 98 ether, 11 ether + 12 ether);
    }

    function test_LatePenalty_IsCappedAtMaxLatePenaltyBps() public {
        vm.warp(ms[0].deadline + 100 days);
        _settleAs(stranger, 9700); // gross 110, penalty 10%
        _assertPaid(99 ether, 11 ether);
    }

    function test_ObservedOnTime_SubmittedLate_HasNoPenalty() public {
        Attestation memory a = _attestation(id, 0, 9200);
        a.observedAt = ms[0].deadline;
        a.expiresAt = ms[0].deadline + 10 days;
        vm.warp(ms[0].deadline + 5 days);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        escrow.settle(t, ms[0], proof, a, sigs);
        _assertPaid(100 ether, 10 ether);
    }

    function test_Settlement_EmitsEveryFigure() public {
        Attestation memory a = _attestation(id, 0, 9400);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.MilestoneSettled(
            id, 0, escrow.attestationDigest(a), 9400, uint64(block.timestamp), 105 ether, 0, 5 ether
        );
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_SettledTwice() public {
        _settleAs(stranger, 9200);
        Attestation memory a = _attestation(id, 0, 9300);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Settled)
        );
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_TheMilestoneIndexIsOutOfRange() public {
        Attestation memory a = _attestation(id, 2, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidMilestoneProof.selector, 2));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_TheMilestoneIsNotTheAgreedOne() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        Milestone memory richer = ms[0];
        richer.amount = 200 ether;
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidMilestoneProof.selector, 0));
        escrow.settle(t, richer, proof, a, sigs);
    }

    function test_RevertWhen_TheMetricIsNotTheMilestones() public {
        Attestation memory a = _attestation(id, 0, 9200);
        a.metricId = keccak256("latency@v1");
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.MetricMismatch.selector, METRIC, a.metricId));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_TheAttestationIsFromTheFuture() public {
        Attestation memory a = _attestation(id, 0, 9200);
        a.observedAt = uint64(block.timestamp + 1);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.AttestationFromFuture.selector, a.observedAt));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_TheAttestationExpired() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.warp(a.expiresAt + 1);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.AttestationExpired.selector, a.expiresAt));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_AnAttestationIsValidAtItsExpiryInstant() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.warp(a.expiresAt);
        escrow.settle(t, ms[0], proof, a, sigs);
        _assertPaid(100 ether, 10 ether);
    }

    function test_RevertWhen_TheAttestationWasRevoked() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes32 digest = escrow.attestationDigest(a);
        bytes memory sigs = _oracleSigs(a, 2);
        vm.prank(oracles[1]);
        registry.revoke(digest, _sig(oracleKeys[1], digest));
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.AttestationRevoked.selector, digest));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_SignaturesAreNotWholeSignatures() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = bytes.concat(_oracleSigs(a, 2), hex"00");
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidSignatureLength.selector, 131));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_FewerSignaturesThanTheThreshold() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.NotEnoughSignatures.selector, 1, 2));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_AllThreeOraclesMaySign() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 3);
        bytes32[] memory proof = _proof(ms, 0);
        escrow.settle(t, ms[0], proof, a, sigs);
        _assertPaid(100 ether, 10 ether);
    }

    function test_RevertWhen_ASignatureIsMalformed() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        sigs[129] = bytes1(uint8(29)); // v of the second signature
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidSignature.selector, 1));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_SignersAreNotAscending() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes32 digest = escrow.attestationDigest(a);
        bytes memory sigs = bytes.concat(_sig(oracleKeys[1], digest), _sig(oracleKeys[0], digest));
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.SignersNotAscending.selector, 1));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_ASignerIsNotAnOracle() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes32 digest = escrow.attestationDigest(a);
        uint256 outsiderKey = 0xBAD;
        address outsider = vm.addr(outsiderKey);
        bytes memory sigs = outsider < oracles[0]
            ? bytes.concat(_sig(outsiderKey, digest), _sig(oracleKeys[0], digest))
            : bytes.concat(_sig(oracleKeys[0], digest), _sig(outsiderKey, digest));
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.SignerNotInOracleSet.selector, outsider));
        escrow.settle(t, ms[0], proof, a, sigs);
    }

    function test_RevertWhen_SettlingAnUnfundedAgreement() public {
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t2 = _terms(address(token), 1, m);
        t2.salt = bytes32(uint256(2));
        bytes memory sig = _consentSig(PROVIDER_KEY, t2);
        vm.prank(client);
        bytes32 id2 = escrow.create(t2, m, sig);
        Attestation memory a = _attestation(id2, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WrongPhase.selector, id2, Phase.Consented));
        escrow.settle(t2, m[0], proof, a, sigs);
    }
}

/// @notice Lower-is-better metrics (latency): floor 300, target 200, stretch 150 ms.
contract LowerIsBetterTest is EscrowTestBase {
    function _latency() internal view returns (Milestone[] memory m) {
        m = _milestones(1);
        m[0].higherIsBetter = false;
        (m[0].floor, m[0].target, m[0].stretch) = (300, 200, 150);
    }

    function test_PartialBetweenFloorAndTarget() public {
        Milestone[] memory m = _latency();
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        _settle(provider, t, m, id, 0, 250); // 5000 + 5000 * 50 / 100 = 7500
        vm.assertEq(token.balanceOf(provider), 75 ether);
    }

    function test_BonusBetweenTargetAndStretch() public {
        Milestone[] memory m = _latency();
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        _settle(stranger, t, m, id, 0, 175); // bonus 10 * 25 / 50
        vm.assertEq(token.balanceOf(provider), 105 ether);
    }

    function test_WorseThanFloorPaysNothing() public {
        Milestone[] memory m = _latency();
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        _settle(provider, t, m, id, 0, 301);
        vm.assertEq(token.balanceOf(provider), 0);
        vm.assertEq(token.balanceOf(address(escrow)), 0);
    }
}

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

    function test_RevertWhen_AnAcceptanceMilestoneLacksTheClientsApproval() public {
        Milestone[] memory m = _milestones(1);
        m[0].requiresClientApproval = true;
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.ClientApprovalMissing.selector, 0));
        escrow.settle(t, m[0], proof, a, sigs);

        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.Unauthorized.selector, provider));
        vm.prank(provider);
        escrow.approveMilestone(id, t, 0);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.MilestoneApproved(id, 0);
        vm.prank(client);
        escrow.approveMilestone(id, t, 0);
        escrow.settle(t, m[0], proof, a, sigs);
        vm.assertEq(token.balanceOf(provider), 100 ether);
    }

    function test_TheClientsApprovalMayComeAsASignature() public {
        Milestone[] memory m = _milestones(1);
        m[0].requiresClientApproval = true;
        AgreementTerms memory t = _terms(address(token), 1, m);
        bytes32 id = _createAndFund(t, m);
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes memory approval = _partySig(CLIENT_KEY, EscrowHashing.hashApproval(id, 0));
        bytes memory forged = _partySig(PROVIDER_KEY, EscrowHashing.hashApproval(id, 0));
        bytes32[] memory proof = _proof(m, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.ClientApprovalMissing.selector, 0));
        escrow.settleWithConsents(t, m[0], proof, a, sigs, forged, "");
        escrow.settleWithConsents(t, m[0], proof, a, sigs, approval, "");
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
        escrow.settle(t, m[0], proof, a, sigs);
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

    function test_AddMilestone_FundedByTheCallerAndSettleable() public {
        Milestone[] memory next = new Milestone[](2);
        next[0] = ms[0];
        next[1] = _milestone();
        next[1].amount = 50 ether;
        next[1].bonus = 0;
        AgreementTerms memory t2 = t;
        t2.revision = 1;
        t2.milestonesRoot = _root(next);
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
        Milestone[] memory next = new Milestone[](1);
        next[0] = ms[0];
        next[0].deadline = later;
        AgreementTerms memory t2 = t;
        t2.revision = 1;
        t2.milestonesRoot = _root(next);
        bytes memory sig = _amendmentSig(CLIENT_KEY, t2);
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
        escrow.settle(t2, ms[0], proof, a, oldSigs);

        bytes32 digest = escrow.attestationDigest(a);
        escrow.settle(t2, ms[0], proof, a, bytes.concat(_sig(k0, digest), _sig(k1, digest)));
        vm.assertEq(token.balanceOf(provider), 100 ether);
    }

    function test_RevertWhen_AnAmendmentSignatureIsReplayed() public {
        uint64 later = ms[0].deadline + 10 days;
        Milestone[] memory next = new Milestone[](1);
        next[0] = ms[0];
        next[0].deadline = later;
        AgreementTerms memory t2 = t;
        t2.revision = 1;
        t2.milestonesRoot = _root(next);
        bytes memory sig = _amendmentSig(CLIENT_KEY, t2);
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

/// @notice Payees that cannot receive are credited and withdraw later.
contract CreditTest is EscrowTestBase {
    function test_ARefusingPayeeIsCreditedAndWithdrawsElsewhere() public {
        ForwardingWallet wallet = new ForwardingWallet(provider);
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t = _terms(address(0), 1, m);
        t.provider = address(wallet);
        bytes memory consent = _consentSig(CLIENT_KEY, t);
        vm.prank(provider);
        bytes32 id =
            abi.decode(wallet.execute(address(escrow), abi.encodeCall(escrow.create, (t, m, consent))), (bytes32));
        vm.prank(client);
        escrow.fund{value: 110 ether}(id, t, m);

        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.Credited(address(0), address(wallet), 100 ether);
        escrow.settle(t, m[0], proof, a, sigs);
        vm.assertEq(escrow.credits(address(0), address(wallet)), 100 ether);

        address payable cold = payable(address(0xC01D));
        vm.prank(provider);
        wallet.execute(address(escrow), abi.encodeCall(escrow.withdraw, (address(0), cold)));
        vm.assertEq(cold.balance, 100 ether);
        vm.assertEq(escrow.credits(address(0), address(wallet)), 0);
    }

    function test_RevertWhen_NothingIsCredited() public {
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.NothingToWithdraw.selector, address(token), client));
        vm.prank(client);
        escrow.withdraw(address(token), client);
    }

    function test_RevertWhen_AWithdrawalCannotBeDelivered() public {
        ForwardingWallet wallet = new ForwardingWallet(provider);
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t = _terms(address(0), 1, m);
        t.provider = address(wallet);
        bytes memory consent = _consentSig(CLIENT_KEY, t);
        vm.prank(provider);
        bytes32 id =
            abi.decode(wallet.execute(address(escrow), abi.encodeCall(escrow.create, (t, m, consent))), (bytes32));
        vm.prank(client);
        escrow.fund{value: 110 ether}(id, t, m);
        _settle(stranger, t, m, id, 0, 9200);

        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WithdrawFailed.selector, address(wallet)));
        vm.prank(provider);
        wallet.execute(address(escrow), abi.encodeCall(escrow.withdraw, (address(0), address(wallet))));
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.WithdrawFailed.selector, address(0)));
        vm.prank(provider);
        wallet.execute(address(escrow), abi.encodeCall(escrow.withdraw, (address(0), address(0))));
        vm.assertEq(escrow.credits(address(0), address(wallet)), 100 ether);
    }
}
