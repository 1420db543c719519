// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {AgreementTerms, Milestone} from "../libraries/EscrowTypes.sol";

contract SmokeTest is EscrowTestBase {
    function test_SettleFullAchievement() public {
        Milestone[] memory ms = _milestones(3);
        ms[0].bonus = 0;
        AgreementTerms memory t = _terms(address(token), 1, ms);
        bytes32 id = _createAndFund(t, ms);
        token.mint(provider, 1);
        _settle(stranger, t, ms, id, 0, 9300);
        vm.assertEq(token.balanceOf(provider), 100 ether + 1);
    }
}
