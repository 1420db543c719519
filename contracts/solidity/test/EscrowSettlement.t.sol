// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {EscrowHashing} from "../libraries/EscrowHashing.sol";
import {AgreementTerms, Attestation, Milestone, MilestoneStatus, Phase} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {FundedAgreementTestBase} from "./utils/FundedAgreementTestBase.sol";
import {SettlementCodec} from "../libraries/SettlementCodec.sol";
import {packSettlement} from "./utils/SettlementPacking.sol";

/// @notice Settlement: the payout formula as paid out, who may settle, and every attestation check.
/// Default milestone: amount 100, bonus 10 (ether), floor 8000, target 9200, stretch 9600,
/// floorPayoutBps 5000, late penalty 100 bps/day capped at 1000.
contract SettlementTest is FundedAgreementTestBase {
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
        vm.expectRevert(
            abi.encodeWithSelector(IMilestoneEscrow.PartialResultNotAccepted.selector, int256(9000), int256(9200))
        );
        vm.prank(client);
        _settleWith(a, sigs);
    }

    function test_ARelayerSettlesBelowTargetWithTheProvidersSignature() public {
        Attestation memory a = _attestation(id, 0, 9000);
        bytes memory sigs = _oracleSigs(a, 2);
        bytes32 digest = escrow.attestationDigest(a);
        bytes memory acceptance = _partySig(PROVIDER_KEY, EscrowHashing.hashPartialAcceptance(id, 0, 9000, digest));
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.PartialResultAccepted(id, 0, 9000, digest, true);
        vm.prank(stranger);
        escrow.settleWithConsents(packSettlement(t, ms[0], proof, a, sigs), "", acceptance);
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
        escrow.settleWithConsents(packSettlement(t, ms[0], proof, a, sigs), "", acceptance);
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
        _settleWith(a, _oracleSigs(a, 2));
        _assertPaid(100 ether, 10 ether);
    }

    function test_Settlement_EmitsEveryFigure() public {
        Attestation memory a = _attestation(id, 0, 9400);
        bytes memory sigs = _oracleSigs(a, 2);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.MilestoneSettled(
            id, 0, escrow.attestationDigest(a), 9400, uint64(block.timestamp), EVIDENCE, 105 ether, 0, 5 ether
        );
        _settleWith(a, sigs);
    }

    function test_AProvidersPartialSettlement_EmitsItsAcceptance() public {
        Attestation memory a = _attestation(id, 0, 9000);
        bytes memory sigs = _oracleSigs(a, 2);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.PartialResultAccepted(id, 0, 9000, escrow.attestationDigest(a), false);
        vm.prank(provider);
        _settleWith(a, sigs);
    }

    function test_RevertWhen_SettledTwice() public {
        _settleAs(stranger, 9200);
        Attestation memory a = _attestation(id, 0, 9300);
        _expectSettleRevert(
            a,
            _oracleSigs(a, 2),
            abi.encodeWithSelector(IMilestoneEscrow.WrongMilestoneStatus.selector, 0, MilestoneStatus.Settled)
        );
    }

    function test_RevertWhen_TheMilestoneIndexIsOutOfRange() public {
        Attestation memory a = _attestation(id, 2, 9200);
        bytes memory err = abi.encodeWithSelector(IMilestoneEscrow.InvalidMilestoneProof.selector, 2);
        _expectSettleRevert(a, _oracleSigs(a, 2), err); // with the first milestone and its proof
    }

    function test_RevertWhen_TheMilestoneIsNotTheAgreedOne() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        Milestone memory richer = ms[0];
        richer.amount = 200 ether;
        bytes32[] memory proof = _proof(ms, 0);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidMilestoneProof.selector, 0));
        escrow.settleMilestonePacked(packSettlement(t, richer, proof, a, sigs));
    }

    /// @dev A settlement carries no metric of its own: the escrow hashes the milestone's, so
    /// oracles that signed another metric recover as strangers.
    function test_RevertWhen_TheOraclesSignedAnotherMetric() public {
        Attestation memory signed = _attestation(id, 0, 9200);
        signed.metricId = keccak256("latency@v1");
        bytes memory sigs = _oracleSigs(signed, 2);
        _expectSettleRevert(signed, sigs, _foreignSigner(_attestation(id, 0, 9200), sigs));
    }

    function test_RevertWhen_TheAttestationIsFromTheFuture() public {
        Attestation memory a = _attestation(id, 0, 9200);
        a.observedAt = uint64(block.timestamp + 1);
        bytes memory err = abi.encodeWithSelector(IMilestoneEscrow.AttestationFromFuture.selector, a.observedAt);
        _expectSettleRevert(a, _oracleSigs(a, 2), err);
    }

    function test_RevertWhen_TheAttestationExpired() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        vm.warp(a.expiresAt + 1);
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.AttestationExpired.selector, a.expiresAt));
    }

    function test_AnAttestationIsValidAtItsExpiryInstant() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        vm.warp(a.expiresAt);
        _settleWith(a, sigs);
        _assertPaid(100 ether, 10 ether);
    }

    /// @dev `who` revokes the signed bundle of oracles 0 and `second`, which then still settles at target.
    function _assertSettlesAfterRevocation(address who, uint256 second) internal {
        (Attestation memory a, bytes memory sigs) = _signedWith(oracleKeys[0], oracleKeys[second]);
        _revokeAs(who, a);
        _settleWith(a, sigs);
        _assertPaid(100 ether, 10 ether);
    }

    function _revokeAs(address who, Attestation memory a) internal {
        bytes32 digest = escrow.attestationDigest(a);
        vm.prank(who);
        escrow.revoke(digest);
    }

    function test_ASignerWithdrawsItsOwnSignatureOnly() public {
        bytes32 digest = keccak256("attestation");
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.SignatureRevoked(digest, oracles[0]);
        vm.prank(oracles[0]);
        escrow.revoke(digest);
        vm.assertTrue(escrow.isRevoked(digest, oracles[0]));
        vm.assertFalse(escrow.isRevoked(digest, oracles[1]));
        vm.assertFalse(escrow.isRevoked(keccak256("another attestation"), oracles[0]));

        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.AlreadyRevoked.selector, digest, oracles[0]));
        vm.prank(oracles[0]);
        escrow.revoke(digest);
    }

    function test_AnotherAddressesRevocationLeavesTheSignersSignature() public {
        bytes32 digest = keccak256("attestation");
        vm.prank(stranger);
        escrow.revoke(digest);
        vm.assertTrue(escrow.isRevoked(digest, stranger));
        vm.assertFalse(escrow.isRevoked(digest, oracles[0]));
    }

    function test_AClientsRevocationDoesNotStopASettlement() public {
        _assertSettlesAfterRevocation(client, 1);
    }

    function test_AProvidersRevocationDoesNotStopASettlement() public {
        _assertSettlesAfterRevocation(provider, 1);
    }

    function test_AStrangersRevocationDoesNotStopASettlement() public {
        _assertSettlesAfterRevocation(stranger, 1);
    }

    function test_AnOraclesRevocationWithdrawsOnlyItsOwnSignature() public {
        // an oracle of the set, but not one counted in the bundle
        _assertSettlesAfterRevocation(oracles[1], 2);
    }

    function test_RevertWhen_ABundleCountsARevokedSignature() public {
        (Attestation memory a, bytes memory sigs) = _signedWith(oracleKeys[0], oracleKeys[1]);
        _revokeAs(oracles[1], a);
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.RevokedSignature.selector, oracles[1]));
        // the two unrevoked members still make the threshold
        (, bytes memory others) = _signedWith(oracleKeys[0], oracleKeys[2]);
        _settleWith(a, others);
        _assertPaid(100 ether, 10 ether);
    }

    function test_RevertWhen_SignaturesAreNotWholeSignatures() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = bytes.concat(_oracleSigs(a, 2), hex"00");
        _expectSettleRevert(a, sigs, _malformed(a, sigs));
    }

    function test_RevertWhen_ThePackedSettlementIsTruncatedOrOverlong() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory packed = _packed(a, _oracleSigs(a, 2));
        bytes memory truncated = new bytes(packed.length - 1);
        for (uint256 i = 0; i < truncated.length; ++i) {
            truncated[i] = packed[i];
        }
        _expectMalformed(truncated);
        _expectMalformed(bytes.concat(packed, hex"00"));
        _expectMalformed("");
    }

    function test_RevertWhen_AMilestoneFlagIsUnknown() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory packed = _packed(a, _oracleSigs(a, 2));
        packed[366] = 0x05; // higherIsBetter plus a bit no flag has
        _expectMalformed(packed);
    }

    function _expectMalformed(bytes memory packed) internal {
        vm.expectRevert(abi.encodeWithSelector(SettlementCodec.MalformedSettlement.selector, packed.length));
        escrow.settleMilestonePacked(packed);
    }

    function test_RevertWhen_FewerSignaturesThanTheThreshold() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory err = abi.encodeWithSelector(IMilestoneEscrow.NotEnoughSignatures.selector, 1, 2);
        _expectSettleRevert(a, _oracleSigs(a, 1), err);
    }

    function test_AllThreeOraclesMaySign() public {
        Attestation memory a = _attestation(id, 0, 9200);
        _settleWith(a, _oracleSigs(a, 3));
        _assertPaid(100 ether, 10 ether);
    }

    function test_RevertWhen_ASignatureIsMalformed() public {
        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 2);
        sigs[129] = bytes1(uint8(29)); // v of the second signature
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.InvalidSignature.selector, 1));
    }

    function test_RevertWhen_SignersAreNotAscending() public {
        (Attestation memory a, bytes memory sigs) = _signedWith(oracleKeys[1], oracleKeys[0]);
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.SignersNotAscending.selector, 1));
    }

    function test_RevertWhen_ASignerIsNotAnOracle() public {
        (Attestation memory a, bytes memory sigs, address outsider) = _signedWithAnOutsider();
        _expectSettleRevert(a, sigs, abi.encodeWithSelector(IMilestoneEscrow.SignerNotInOracleSet.selector, outsider));
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
        escrow.settleMilestonePacked(packSettlement(t2, m[0], proof, a, sigs));
    }
}

/// @notice Lower-is-better metrics (latency): floor 300, target 200, stretch 150 ms.
contract LowerIsBetterTest is EscrowTestBase {
    function _latency() internal view returns (Milestone[] memory m) {
        m = _milestones(1);
        m[0].higherIsBetter = false;
        (m[0].floor, m[0].target, m[0].stretch) = (300, 200, 150);
    }

    /// @dev Funds one latency milestone and settles it at `value` as `caller`.
    function _settleLatency(address caller, int256 value) internal {
        Milestone[] memory m = _latency();
        (AgreementTerms memory t, bytes32 id) = _funded(address(token), m);
        _settle(caller, t, m, id, 0, value);
    }

    function test_PartialBetweenFloorAndTarget() public {
        _settleLatency(provider, 250); // 5000 + 5000 * 50 / 100 = 7500
        vm.assertEq(token.balanceOf(provider), 75 ether);
    }

    function test_BonusBetweenTargetAndStretch() public {
        _settleLatency(stranger, 175); // bonus 10 * 25 / 50
        vm.assertEq(token.balanceOf(provider), 105 ether);
    }

    function test_WorseThanFloorPaysNothing() public {
        _settleLatency(provider, 301);
        vm.assertEq(token.balanceOf(provider), 0);
        vm.assertEq(token.balanceOf(address(escrow)), 0);
    }
}
