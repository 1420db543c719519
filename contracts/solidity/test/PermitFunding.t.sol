// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {AgreementTerms, Milestone, Permit, Phase} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {PermitERC20} from "./utils/tokens/PermitERC20.sol";

/// @notice Funding from one signature: the client's EIP-2612 permit in the funding transaction
/// (`fundWithPermit`), and a relayer that registers and funds for both parties (`createAndFundFor`).
contract PermitFundingTest is EscrowTestBase {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    PermitERC20 internal permitToken;
    address internal relayer = address(0x4E1A);

    function setUp() public override {
        super.setUp();
        permitToken = new PermitERC20();
        permitToken.mint(client, 1_000 ether); // no approve: the permit is the only authorization
    }

    function test_ClientFundsWithAPermitInTheFundingTransaction() public {
        (AgreementTerms memory t, Milestone[] memory ms) = _permitTerms();
        bytes memory consent = _consentSig(PROVIDER_KEY, t);
        vm.prank(client);
        bytes32 id = escrow.create(t, ms, consent);
        Permit memory p = _permit(CLIENT_KEY, 220 ether);
        vm.expectEmit(true, true, false, true, address(escrow));
        emit IMilestoneEscrow.AgreementFunded(id, client, 220 ether);
        vm.prank(client);
        escrow.fundWithPermit(id, t, ms, p);
        _assertFunded(id, 220 ether);
    }

    function test_RelayerRegistersAndFundsWithBothConsentsAndTheClientsPermit() public {
        (AgreementTerms memory t, Milestone[] memory ms) = _permitTerms();
        bytes memory clientSig = _consentSig(CLIENT_KEY, t);
        bytes memory providerSig = _consentSig(PROVIDER_KEY, t);
        uint256 relayerBalance = relayer.balance;
        Permit memory p = _permit(CLIENT_KEY, 220 ether);
        vm.prank(relayer);
        bytes32 id = escrow.createAndFundFor(t, ms, clientSig, providerSig, p);
        _assertFunded(id, 220 ether);
        vm.assertEq(relayer.balance, relayerBalance); // the relayer paid nothing but gas
    }

    function test_PermitSubmittedFirstByAnotherStillFunds() public {
        (AgreementTerms memory t, Milestone[] memory ms) = _permitTerms();
        Permit memory p = _permit(CLIENT_KEY, 220 ether);
        permitToken.permit(client, address(escrow), 220 ether, p.deadline, p.v, p.r, p.s); // front-run
        bytes memory clientSig = _consentSig(CLIENT_KEY, t);
        bytes memory providerSig = _consentSig(PROVIDER_KEY, t);
        vm.prank(relayer);
        bytes32 id = escrow.createAndFundFor(t, ms, clientSig, providerSig, p);
        _assertFunded(id, 220 ether);
    }

    function test_RevertWhen_RelayerLacksTheClientsConsent() public {
        (AgreementTerms memory t, Milestone[] memory ms) = _permitTerms();
        bytes memory providerSig = _consentSig(PROVIDER_KEY, t);
        Permit memory p = _permit(CLIENT_KEY, 220 ether);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IMilestoneEscrow.InvalidPartySignature.selector, client));
        escrow.createAndFundFor(t, ms, providerSig, providerSig, p);
    }

    function test_RevertWhen_PermitIsForAnotherAmount() public {
        (AgreementTerms memory t, Milestone[] memory ms) = _permitTerms();
        Permit memory p = _permit(CLIENT_KEY, 100 ether);
        bytes memory clientSig = _consentSig(CLIENT_KEY, t);
        bytes memory providerSig = _consentSig(PROVIDER_KEY, t);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMilestoneEscrow.PermitRefused.selector, address(permitToken), client, uint256(220 ether)
            )
        );
        escrow.createAndFundFor(t, ms, clientSig, providerSig, p);
    }

    function test_RevertWhen_PermitIsOfferedForEther() public {
        Milestone[] memory ms = _milestones(1);
        AgreementTerms memory t = _terms(address(0), 2, ms);
        bytes memory clientSig = _consentSig(CLIENT_KEY, t);
        bytes memory providerSig = _consentSig(PROVIDER_KEY, t);
        Permit memory p = _permit(CLIENT_KEY, 110 ether);
        vm.prank(relayer);
        vm.expectRevert(IMilestoneEscrow.PermitWithoutToken.selector);
        escrow.createAndFundFor(t, ms, clientSig, providerSig, p);
    }

    // ------------------------------------------------------------ helpers

    function _permitTerms() internal view returns (AgreementTerms memory t, Milestone[] memory ms) {
        ms = _milestones(2);
        t = _terms(address(permitToken), 2, ms);
    }

    function _permit(uint256 key, uint256 value) internal view returns (Permit memory p) {
        address owner = vm.addr(key);
        p.deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, owner, address(escrow), value, permitToken.nonces(owner), p.deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", permitToken.DOMAIN_SEPARATOR(), structHash));
        (p.v, p.r, p.s) = vm.sign(key, digest);
    }

    function _assertFunded(bytes32 id, uint256 total) internal view {
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(Phase.Active));
        vm.assertEq(permitToken.balanceOf(address(escrow)), total);
        vm.assertEq(permitToken.balanceOf(client), 1_000 ether - total);
    }
}
