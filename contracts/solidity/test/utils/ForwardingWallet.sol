// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A contract party that refuses plain ETH (so the escrow credits it) and acts through
/// `execute` (so it can create agreements and withdraw its credit). Tests and benchmarks only.
contract ForwardingWallet {
    address public immutable owner;

    error NotOwner(address caller);

    constructor(address owner_) {
        owner = owner_;
    }

    function execute(address target, bytes calldata data) external payable returns (bytes memory result) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        bool ok;
        (ok, result) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }
}
