// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A party contract whose receive() tries to reenter the escrow with prepared calldata.
/// With `revertOnFailure` it reverts when the reentry fails (so the payment fails and is credited).
contract ReentrantPayee {
    address public immutable escrow;
    bytes public reentry;
    bool public revertOnFailure;
    uint256 public attempts;
    bool public reentrySucceeded;

    constructor(address escrow_) {
        escrow = escrow_;
    }

    function arm(bytes calldata reentry_, bool revertOnFailure_) external {
        (reentry, revertOnFailure) = (reentry_, revertOnFailure_);
    }

    /// @dev Lets the test act as this contract (create agreements, withdraw credits).
    function execute(address target, bytes calldata data) external payable returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call{value: msg.value}(data);
        require(ok, "execute failed");
    }

    receive() external payable {
        if (reentry.length == 0) return;
        ++attempts;
        (bool ok,) = escrow.call(reentry);
        reentrySucceeded = reentrySucceeded || ok;
        if (!ok && revertOnFailure) revert("reentry refused");
    }
}

/// @notice Burns all gas it is given on receipt.
contract GasBurningPayee {
    receive() external payable {
        while (true) {}
    }
}

/// @notice Force-sends its value to `to` by self-destructing in its constructor (still sends on Prague).
contract ForceSender {
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
