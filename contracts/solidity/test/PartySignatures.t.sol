// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {EscrowHashing} from "../libraries/EscrowHashing.sol";
import {AgreementTerms, Attestation, Milestone, Phase} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {ISafe, SafeAccounts, VmAccounts} from "./utils/accounts/SafeAccounts.sol";
import {ReplaySafeDelegate} from "./utils/accounts/ReplaySafeDelegate.sol";
import {packSettlement} from "./utils/SettlementPacking.sol";

/// @notice The one party-signature rule (escrow-semantics.md) with wallets as users hold them: a
/// real Safe 1.4.1 as client, an EOA with an EIP-7702 delegation as provider, v = 0/1 signatures.
contract PartySignaturesTest is EscrowTestBase, SafeAccounts {
    VmAccounts internal constant VMA = VmAccounts(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant OWNER_A_KEY = 0x5AFE01;
    uint256 internal constant OWNER_B_KEY = 0x5AFE02;
    uint256 internal constant OWNER_C_KEY = 0x5AFE03;

    ISafe internal safe;
    uint256[] internal ownerKeys; // ascending by address: the order Safe wants signatures in
    ReplaySafeDelegate internal delegate;

    function setUp() public override {
        super.setUp();
        _deploySafeContracts();
        ownerKeys.push(OWNER_A_KEY);
        ownerKeys.push(OWNER_B_KEY);
        ownerKeys.push(OWNER_C_KEY);
        for (uint256 i = 1; i < 3; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(ownerKeys[j]) < vm.addr(ownerKeys[j - 1]); --j) {
                (ownerKeys[j], ownerKeys[j - 1]) = (ownerKeys[j - 1], ownerKeys[j]);
            }
        }
        address[] memory owners = new address[](3);
        for (uint256 i = 0; i < 3; ++i) {
            owners[i] = vm.addr(ownerKeys[i]);
        }
        safe = _newSafe(owners, 2, 1);
        vm.deal(address(safe), 1_000 ether);
        delegate = new ReplaySafeDelegate();
    }

    // ------------------------------------------------------------ Safe as client

    function test_SafeClientConsentsFundsAndApprovesWithItsOwnersSignatures() public {
        Milestone[] memory ms = _milestones(1);
        ms[0].requiresClientApproval = true;
        AgreementTerms memory t = _terms(address(0), 2, ms);
        t.client = address(safe);
        bytes32 id = escrow.hashTerms(t);

        // The provider registers with the Safe's consent: two of three owners signed (ERC-1271).
        bytes memory consent = _safeSig(escrow.typedDataHash(id), 2);
        vm.prank(provider);
        escrow.create(t, ms, consent);
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Consented));

        // The Safe funds by its own transaction, executed with its owners' signatures.
        _safeExec(address(escrow), _total(ms), abi.encodeCall(IMilestoneEscrow.fund, (id, t, ms)));
        (phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Active));

        // Its approval travels as a signature (ERC-1271) with the settlement anyone submits.
        bytes memory approval = _safeSig(escrow.typedDataHash(EscrowHashing.hashApproval(id, 0)), 2);
        Attestation memory a = _attestation(id, 0, 9600);
        uint256 before = provider.balance;
        bytes memory oracleSigs = _oracleSigs(a, 2);
        vm.prank(stranger);
        escrow.settleWithConsents(packSettlement(t, ms[0], _proof(ms, 0), a, oracleSigs), approval, "");
        vm.assertEq(provider.balance - before, 110 ether);
    }

    function test_RevertWhen_SafeSignedByTooFewOwners() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(0), 2, ms);
        t.client = address(safe);
        bytes memory oneOwner = _safeSig(escrow.typedDataHash(escrow.hashTerms(t)), 1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, address(safe)));
        escrow.create(t, ms, oneOwner);
    }

    // ------------------------------------------------------------ EIP-7702 delegated EOA as provider

    function test_DelegatedProviderConsentsWithItsKeyOrItsErc1271Answer() public {
        _delegateProvider();
        vm.assertEq(provider.code, abi.encodePacked(hex"ef0100", address(delegate)));
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 2, ms);

        // ECDSA by the key: SignatureChecker alone would have sent this account to ERC-1271.
        bytes32 id = _createAndFund(t, ms);
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Active));

        // The delegate's own ERC-1271 scheme, which plain ECDSA of the digest would refuse.
        t.salt = bytes32(uint256(2));
        bytes32 digest = escrow.typedDataHash(escrow.hashTerms(t));
        bytes memory answer = _sig(PROVIDER_KEY, ReplaySafeDelegate(payable(provider)).replaySafeHash(digest));
        vm.prank(client);
        id = escrow.createAndFund(t, ms, answer);
        (phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Active));
    }

    function test_DelegatedProviderAcceptsAPartialResultThroughErc1271() public {
        _delegateProvider();
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 2, ms);
        bytes32 id = _createAndFund(t, ms);
        Attestation memory a = _attestation(id, 0, 8600); // below the 9200 target
        bytes32 acceptance = EscrowHashing.hashPartialAcceptance(id, 0, a.value, escrow.attestationDigest(a));
        bytes32 digest = escrow.typedDataHash(acceptance);
        bytes memory signature = _sig(PROVIDER_KEY, ReplaySafeDelegate(payable(provider)).replaySafeHash(digest));

        uint256 before = token.balanceOf(provider);
        bytes memory oracleSigs = _oracleSigs(a, 2);
        vm.prank(stranger);
        escrow.settleWithConsents(packSettlement(t, ms[0], _proof(ms, 0), a, oracleSigs), "", signature);
        vm.assertEq(token.balanceOf(provider) - before, 75 ether); // 50% + 50% * 600/1200 of 100
    }

    function test_RevertWhen_DelegatedProviderSignatureIsAnotherKeys() public {
        _delegateProvider();
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 2, ms);
        bytes memory wrong = _consentSig(ARBITER_KEY, t);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, provider));
        escrow.createAndFund(t, ms, wrong);
    }

    // ------------------------------------------------------------ v = 0/1

    function test_PartySignatureWithVZeroOrOneIsReadAs27Or28() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(token), 2, ms);
        bytes memory signature = _consentSig(PROVIDER_KEY, t);
        signature[64] = bytes1(uint8(signature[64]) - 27);
        vm.prank(client);
        bytes32 id = escrow.createAndFund(t, ms, signature);
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Active));
    }

    // ------------------------------------------------------------ helpers

    /// @dev A real type-4 authorization: the provider's key delegates its account to `delegate`.
    function _delegateProvider() internal {
        VMA.signAndAttachDelegation(address(delegate), PROVIDER_KEY);
        (bool ok,) = provider.call(""); // the delegate's receive(): the authorization lands with this call
        vm.assertTrue(ok);
    }

    /// @dev The Safe's ERC-1271 signature over an escrow digest: `count` owners sign the Safe's
    /// message hash (CompatibilityFallbackHandler), concatenated in ascending owner order.
    function _safeSig(bytes32 digest, uint256 count) internal view returns (bytes memory signature) {
        bytes32 message = safeHandler.getMessageHashForSafe(address(safe), abi.encode(digest));
        for (uint256 i = 0; i < count; ++i) {
            signature = bytes.concat(signature, _sig(ownerKeys[i], message));
        }
    }

    /// @dev Executes a call from the Safe, signed by two owners (its threshold).
    function _safeExec(address to, uint256 value, bytes memory data) internal {
        bytes32 txHash = safe.getTransactionHash(to, value, data, 0, 0, 0, 0, address(0), address(0), safe.nonce());
        bytes memory signatures = bytes.concat(_sig(ownerKeys[0], txHash), _sig(ownerKeys[1], txHash));
        vm.prank(stranger);
        vm.assertTrue(safe.execTransaction(to, value, data, 0, 0, 0, 0, address(0), payable(address(0)), signatures));
    }
}
