// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @notice A mintable ERC-20 with EIP-2612 permits (as USDC, DAI-style tokens and most new ones have).
contract PermitERC20 is ERC20Permit {
    constructor() ERC20("Permit USD", "pUSD") ERC20Permit("Permit USD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
