// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MilestoneEscrow} from "../MilestoneEscrow.sol";
import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {AgreementTerms, Attestation, Milestone, MilestoneStatus} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {FundedAgreementTestBase} from "./utils/FundedAgreementTestBase.sol";
import {ForceSender, GasBurningPayee, ReentrantPayee} from "./utils/MaliciousPayees.sol";
import {
    BlocklistToken,
    CallbackToken,
    FeeOnTransferToken,
    NoReturnToken,
    ReturnFalseToken
} from "./utils/tokens/WeirdTokens.sol";
import {packSettlement} from "./utils/SettlementPacking.sol";

/// @notice Forged, replayed and tampered attestations and signatures.
contract SignatureAttackTest is FundedAgreementTestBase {
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal homeChain;

    function test_RevertWhen_TheSameAttestationSettlesTwice() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        _settleWith(a, sigs);
        _expectSettleRevert(
            a, sigs, abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Settled)
        );
    }

    function test_RevertWhen_AnAttestationForAnotherAgreementIsReused() public {
        AgreementTerms memory other = _terms(address(token), 2, ms);
        other.salt = bytes32(uint256(99));
        bytes32 otherId = _createAndFund(other, ms);
        Attestation memory a = _attestation(otherId, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        // as is: the terms are not the other agreement's
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.TermsMismatch.selector, otherId, id));
        // relabelled for this agreement: the signatures no longer match
        a.agreementId = id;
        _expectSettleRevert(a, sigs, _foreignSigner(a, sigs));
    }

    function test_RevertWhen_AnAttestationIsSignedForAnotherChain() public {
        Attestation memory a = _attestation(id, 0, 9200);
        homeChain = block.chainid; // in storage: via-IR would re-read block.chainid for a local
        vm.chainId(homeChain + 1);
        bytes memory sigs = _oracleSigs(a, 2);
        vm.chainId(homeChain);
        _expectSettleRevert(a, sigs, _foreignSigner(a, sigs));
    }

    function test_RevertWhen_AnAttestationIsSignedForAnotherDeployment() public {
        MilestoneEscrow other = new MilestoneEscrow(registry);
        Attestation memory a = _attestation(id, 0, 9200);
        bytes32 foreignDigest = other.attestationDigest(a);
        bytes memory sigs = bytes.concat(_sig(oracleKeys[0], foreignDigest), _sig(oracleKeys[1], foreignDigest));
        _expectSettleRevert(a, sigs, _foreignSigner(a, sigs));
    }

    function test_RevertWhen_ASignatureIsItsHighSTwin() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes32 digest = escrow.attestationDigest(a);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(oracleKeys[0], digest);
        bytes memory highS = abi.encodePacked(r, bytes32(N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.assertEq(ecrecover(digest, v == 27 ? 28 : 27, r, bytes32(N - uint256(s))), oracles[0]); // a valid twin
        bytes memory sigs = bytes.concat(highS, _sig(oracleKeys[1], digest));
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.InvalidSignature.selector, 0));
    }

    function test_RevertWhen_ASignatureIsIn64ByteCompactForm() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes32 digest = escrow.attestationDigest(a);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(oracleKeys[0], digest);
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        bytes memory sigs = bytes.concat(abi.encodePacked(r, vs), _sig(oracleKeys[1], digest));
        _expectSettleRevert(a, sigs, _malformed(a, sigs));
    }

    function test_RevertWhen_OneOracleSignsTwice() public {
        (Attestation memory a, bytes memory sigs) = _signedWith(oracleKeys[0], oracleKeys[0]);
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.SignersNotAscending.selector, 1));
    }

    function test_RevertWhen_SignersAreUnsorted() public {
        (Attestation memory a, bytes memory sigs) = _signedWith(oracleKeys[2], oracleKeys[0]);
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.SignersNotAscending.selector, 1));
    }

    function test_RevertWhen_OnlyMMinusOneSign() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.NotEnoughSignatures.selector, 1, 2));
    }

    function test_RevertWhen_ANonMemberCompletesTheThreshold() public {
        (Attestation memory a, bytes memory sigs, address outsider) = _signedWithAnOutsider();
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.SignerNotInOracleSet.selector, outsider));
    }

    function test_RevertWhen_AnyFieldOfTheAttestationIsTampered() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        Attestation memory x;

        x = _copy(a);
        x.agreementId = keccak256("another agreement");
        _expectSettleRevert(x, sigs, abi.encodeWithSelector(IMilestoneEscrow.UnknownAgreement.selector, x.agreementId));
        x = _copy(a);
        x.milestoneIndex = 1;
        _expectSettleRevert(x, sigs, _foreignSigner(x, sigs));
        // the metric is not in the settlement at all: the escrow hashes the milestone's
        x = _copy(a);
        x.value = 9600;
        _expectSettleRevert(x, sigs, _foreignSigner(x, sigs));
        x = _copy(a);
        x.observedAt = a.observedAt - 1;
        _expectSettleRevert(x, sigs, _foreignSigner(x, sigs));
        x = _copy(a);
        x.evidenceHash = keccak256("other evidence");
        _expectSettleRevert(x, sigs, _foreignSigner(x, sigs));
        x = _copy(a);
        x.expiresAt = a.expiresAt + 1;
        _expectSettleRevert(x, sigs, _foreignSigner(x, sigs));
        // and untampered it settles
        _settleWith(a, sigs);
    }

    function _copy(Attestation memory a) internal pure returns (Attestation memory) {
        return abi.decode(abi.encode(a), (Attestation));
    }

    function test_RevertWhen_AttestationsAreExpiredOrFutureDated() public {
        Attestation memory a = _attestation(id, 0, 9200);
        a.observedAt = uint64(block.timestamp + 60);
        bytes memory sigs = _oracleSigs(a, 2);
        _expectSettleRevert(
            a, sigs, abi.encodeWithSelector(IMilestoneEscrow.AttestationFromFuture.selector, a.observedAt)
        );
        a = _attestation(id, 0, 9200);
        sigs = _oracleSigs(a, 2);
        vm.warp(a.expiresAt + 1);
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.AttestationExpired.selector, a.expiresAt));
    }

    function test_RevertWhen_ConsentIsForgedOrForOtherTerms() public {
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t2 = _terms(address(token), 1, m);
        t2.salt = bytes32(uint256(5));
        AgreementTerms memory cheaper = _terms(address(token), 1, m);
        cheaper.salt = bytes32(uint256(6));
        bytes memory forOther = _consentSig(PROVIDER_KEY, cheaper);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        vm.prank(client);
        escrow.createAndFund(t2, m, forOther);
        bytes memory forged = _consentSig(CLIENT_KEY, t2);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        vm.prank(client);
        escrow.createAndFund(t2, m, forged);
    }

    function test_SettleAndReclaimRaceAtTheBoundary_SettleWinsAtTheLastSecond() public {
        uint256 boundary = ms[0].deadline + t.cureWindow;
        vm.warp(boundary);
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.ReclaimTooEarly.selector, boundary));
        vm.prank(client);
        escrow.reclaim(id, t, 0, ms[0], proof);
        escrow.settleMilestonePacked(packSettlement(t, ms[0], proof, a, sigs));
        vm.warp(boundary + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Settled)
        );
        vm.prank(client);
        escrow.reclaim(id, t, 0, ms[0], proof);
    }

    function test_SettleAndReclaimRaceAtTheBoundary_ReclaimWinsOneSecondLater() public {
        uint256 boundary = ms[0].deadline + t.cureWindow;
        Attestation memory a = _attestation(id, 0, 9200); // observed long before, still valid
        a.expiresAt = uint64(boundary + 10);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32[] memory proof = _proof(ms, 0);
        vm.warp(boundary + 1);
        vm.prank(client);
        escrow.reclaim(id, t, 0, ms[0], proof);
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Closed)
        );
        escrow.settleMilestonePacked(packSettlement(t, ms[0], proof, a, sigs));
    }
}

/// @notice What the weird tokens share: anyone mints, and `approve` (whatever it returns) sets an allowance.
interface IMintableToken {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external;
}

/// @notice Reentrancy, weird tokens and force-sent ether.
contract MoneyAttackTest is EscrowTestBase {
    /// @dev The client holds 1,000 of `token_` and lets the escrow pull all of it.
    function _holdAndApprove(address token_) internal {
        IMintableToken(token_).mint(client, 1000 ether);
        vm.prank(client);
        IMintableToken(token_).approve(address(escrow), type(uint256).max);
    }

    /// @dev A contract provider: it registers the agreement itself with the client's consent signature.
    function _agreementWithContractProvider(address payee, address token_)
        internal
        returns (AgreementTerms memory t, Milestone[] memory m, bytes32 id)
    {
        m = _milestones(1);
        t = _terms(token_, 1, m);
        t.provider = payee;
        bytes memory consent = _consentSig(CLIENT_KEY, t);
        id = abi.decode(
            ReentrantPayee(payable(payee)).execute(address(escrow), abi.encodeCall(escrow.create, (t, m, consent))),
            (bytes32)
        );
        uint256 value = token_ == address(0) ? 110 ether : 0;
        vm.prank(client);
        escrow.fund{value: value}(id, t, m);
    }

    function test_APayeeReenteringOnReceiptGetsPaidOnce() public {
        ReentrantPayee payee = new ReentrantPayee(address(escrow));
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) =
            _agreementWithContractProvider(address(payee), address(0));
        Attestation memory a = _attestation(id, 0, 9700);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(m, 0);
        payee.arm(abi.encodeCall(escrow.settleMilestonePacked, (packSettlement(t, m[0], proof, a, sigs))), false);

        escrow.settleMilestonePacked(packSettlement(t, m[0], proof, a, sigs));
        vm.assertEq(payee.attempts(), 1);
        vm.assertFalse(payee.reentrySucceeded());
        vm.assertEq(address(payee).balance, 110 ether);
        vm.assertEq(address(escrow).balance, 0);
    }

    function test_APayeeThatRevertsOnReentryFailureIsCreditedOnce() public {
        ReentrantPayee payee = new ReentrantPayee(address(escrow));
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) =
            _agreementWithContractProvider(address(payee), address(0));
        payee.arm(abi.encodeCall(escrow.withdraw, (address(0), address(payee))), true);
        _settle(stranger, t, m, id, 0, 9200);
        vm.assertEq(escrow.credits(address(0), address(payee)), 100 ether);
        vm.assertEq(address(payee).balance, 0);
        // the client's refund was not blocked by the payee
        vm.assertEq(address(escrow).balance, 100 ether);
    }

    function test_AGasBurningPayeeIsCreditedAndCannotStallTheSettlement() public {
        GasBurningPayee burner = new GasBurningPayee();
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t = _terms(address(0), 1, m);
        t.client = address(burner); // the refund goes to the burner
        t.provider = provider;
        bytes memory consent = _partySig(PROVIDER_KEY, escrow.hashTerms(t));
        vm.deal(address(burner), 110 ether);
        vm.prank(address(burner));
        bytes32 id = escrow.createAndFund{value: 110 ether}(t, m, consent);
        _settle(stranger, t, m, id, 0, 9200);
        vm.assertEq(provider.balance, 100 ether);
        vm.assertEq(escrow.credits(address(0), address(burner)), 10 ether);
    }

    function test_ATokenCallingBackCannotReenter() public {
        CallbackToken cb = new CallbackToken();
        _holdAndApprove(address(cb));
        Milestone[] memory m = _milestones(1);
        (AgreementTerms memory t, bytes32 id) = _funded(address(cb), m);
        Attestation memory a = _attestation(id, 0, 9700);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(m, 0);
        cb.arm(address(escrow), abi.encodeCall(escrow.settleMilestonePacked, (packSettlement(t, m[0], proof, a, sigs))));

        escrow.settleMilestonePacked(packSettlement(t, m[0], proof, a, sigs));
        vm.assertTrue(cb.reentryAttempted());
        vm.assertFalse(cb.reentrySucceeded());
        vm.assertEq(cb.balanceOf(provider), 110 ether);
        vm.assertEq(cb.balanceOf(address(escrow)), 0);
    }

    function test_ATokenWithoutReturnValuesWorksEndToEnd() public {
        NoReturnToken usdt = new NoReturnToken();
        _holdAndApprove(address(usdt));
        Milestone[] memory m = _milestones(1);
        (AgreementTerms memory t, bytes32 id) = _funded(address(usdt), m);
        _settle(provider, t, m, id, 0, 9000);
        vm.assertEq(usdt.balanceOf(provider), 91.66 ether);
        vm.assertEq(usdt.balanceOf(client), 1000 ether - 91.66 ether);
        vm.assertEq(usdt.balanceOf(address(escrow)), 0);
    }

    function test_ATokenReturningFalse_FailsFundingAndIsCreditedOnPayout() public {
        ReturnFalseToken rf = new ReturnFalseToken();
        rf.mint(client, 1000 ether);
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t = _terms(address(rf), 1, m);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        // no allowance: transferFrom returns false
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, address(rf)));
        vm.prank(client);
        escrow.createAndFund(t, m, sig);

        vm.prank(client);
        rf.approve(address(escrow), type(uint256).max);
        bytes32 id = _createAndFund(t, m);
        rf.setFailing(true);
        _settle(stranger, t, m, id, 0, 9200);
        vm.assertEq(escrow.credits(address(rf), provider), 100 ether);
        vm.assertEq(escrow.credits(address(rf), client), 10 ether);
        rf.setFailing(false);
        vm.prank(provider);
        escrow.withdraw(address(rf), provider);
        vm.assertEq(rf.balanceOf(provider), 100 ether);
    }

    function test_RevertWhen_FundingWithAFeeOnTransferToken() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        _holdAndApprove(address(fee));
        Milestone[] memory m = _milestones(1);
        AgreementTerms memory t = _terms(address(fee), 1, m);
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.FeeOnTransferToken.selector, address(fee), 110 ether, 108.9 ether)
        );
        vm.prank(client);
        escrow.createAndFund(t, m, sig);
    }

    function test_ABlocklistedProviderIsCreditedWhileTheClientsRefundArrives() public {
        BlocklistToken usdc = new BlocklistToken();
        _holdAndApprove(address(usdc));
        Milestone[] memory m = _milestones(1);
        (AgreementTerms memory t, bytes32 id) = _funded(address(usdc), m);
        usdc.setBlocked(provider, true);
        _settle(stranger, t, m, id, 0, 9200);
        vm.assertEq(escrow.credits(address(usdc), provider), 100 ether);
        vm.assertEq(usdc.balanceOf(client), 1000 ether - 100 ether);

        address fresh = address(0xF2E5);
        vm.prank(provider);
        escrow.withdraw(address(usdc), fresh);
        vm.assertEq(usdc.balanceOf(fresh), 100 ether);
    }

    function test_ForceSentEtherLeavesAccountingIntact() public {
        Milestone[] memory m = _milestones(2);
        AgreementTerms memory t = _terms(address(0), 1, m);
        bytes32 id = _createAndFund(t, m);
        new ForceSender{value: 5 ether}(payable(address(escrow)));
        vm.assertEq(address(escrow).balance, 225 ether);

        _settle(stranger, t, m, id, 0, 9200);
        vm.warp(m[1].deadline + t.cureWindow + 1);
        bytes32[] memory proof = _proof(m, 1);
        vm.prank(client);
        escrow.reclaim(id, t, 1, m[1], proof);
        vm.assertEq(provider.balance, 100 ether);
        vm.assertEq(address(escrow).balance, 5 ether); // only the forced ether is left, owed to no one
    }
}
