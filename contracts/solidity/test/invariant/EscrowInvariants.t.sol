// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AttestationRegistry} from "../../AttestationRegistry.sol";
import {MilestoneEscrow} from "../../MilestoneEscrow.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestBase} from "../utils/Vm.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @notice Invariants over random lifecycles driven by `EscrowHandler`.
contract EscrowInvariantsTest is TestBase {
    EscrowHandler internal handler;
    MilestoneEscrow internal escrow;

    function setUp() public {
        vm.warp(1_700_000_000);
        escrow = new MilestoneEscrow(new AttestationRegistry());
        handler = new EscrowHandler(escrow, 0xC11E, 0x9801, 0x0A11CE);
    }

    /// @dev Forge fuzzes the handler alone (forge-std's StdInvariant is not available here).
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_EscrowBalanceCoversEverythingItOwesPerToken() public view {
        vm.assertEq(address(escrow).balance, handler.ghostOwed(address(0)), "ether");
        address token = address(handler.token());
        vm.assertEq(IERC20(token).balanceOf(address(escrow)), handler.ghostOwed(token), "token");
    }

    function invariant_EveryMilestoneSettlesAtMostOnce() public view {
        for (uint256 k = 0; k < handler.dealCount(); ++k) {
            for (uint256 i = 0; i < handler.milestoneCount(k); ++i) {
                vm.assertLe(handler.settlements(k, i), 1);
            }
        }
    }

    function invariant_StatusesOnlyMoveForward() public view {
        vm.assertFalse(handler.statusWentBack());
    }

    function invariant_PaidNowPlusHoldbackPlusRefundIsAmountPlusBonus() public view {
        vm.assertFalse(handler.settlementBroken());
    }

    function invariant_ACreditOnlyFallsByItsOwnersWithdraw() public view {
        vm.assertFalse(handler.creditFellWithoutWithdraw());
    }
}
