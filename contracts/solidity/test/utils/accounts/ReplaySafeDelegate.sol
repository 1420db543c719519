// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice An EIP-7702 delegate that answers ERC-1271 the way smart-account wallets do (Coinbase
/// Smart Wallet, Safe's message hash): the account's key signs a hash that also names the
/// account, so one signature cannot be replayed on another account of the same key. Because that
/// signature is not an ECDSA signature of the digest itself, only the ERC-1271 route accepts it.
contract ReplaySafeDelegate {
    bytes4 internal constant MAGIC_VALUE = 0x1626ba7e;

    /// @notice A delegated account still takes payments (payouts in ETH).
    receive() external payable {}

    /// @notice What the account's key signs for `digest`.
    function replaySafeHash(bytes32 digest) public view returns (bytes32) {
        return keccak256(abi.encode(keccak256("AttestPay.ReplaySafeDelegate"), address(this), digest));
    }

    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(replaySafeHash(digest), signature);
        return err == ECDSA.RecoverError.NoError && signer == address(this) ? MAGIC_VALUE : bytes4(0xffffffff);
    }
}
