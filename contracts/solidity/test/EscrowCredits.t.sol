// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../interfaces/IMilestoneEscrow.sol";
import {AgreementTerms, Attestation, Milestone} from "../libraries/EscrowTypes.sol";
import {ForwardingWallet} from "./utils/ForwardingWallet.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {packSettlement} from "./utils/SettlementPacking.sol";

/// @notice Payees that cannot receive are credited and withdraw later.
contract CreditTest is EscrowTestBase {
    /// @dev One ether milestone whose provider is `wallet`: the provider registers it through the
    /// wallet with the client's consent signature, and the client funds it.
    function _fundedForWallet(ForwardingWallet wallet)
        internal
        returns (AgreementTerms memory t, Milestone[] memory m, bytes32 id)
    {
        m = _milestones(1);
        t = _terms(address(0), 1, m);
        t.provider = address(wallet);
        bytes memory consent = _consentSig(CLIENT_KEY, t);
        vm.prank(provider);
        id = abi.decode(wallet.execute(address(escrow), abi.encodeCall(escrow.create, (t, m, consent))), (bytes32));
        vm.prank(client);
        escrow.fund{value: 110 ether}(id, t, m);
    }

    function test_ARefusingPayeeIsCreditedAndWithdrawsElsewhere() public {
        ForwardingWallet wallet = new ForwardingWallet(provider);
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedForWallet(wallet);

        Attestation memory a = _attestation(id, 0, 9200);
        bytes memory sigs = _oracleSigs(a, 1);
        bytes32[] memory proof = _proof(m, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IMilestoneEscrow.Credited(address(0), address(wallet), 100 ether);
        escrow.settleMilestonePacked(packSettlement(t, m[0], proof, a, sigs));
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
        (AgreementTerms memory t, Milestone[] memory m, bytes32 id) = _fundedForWallet(wallet);
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
