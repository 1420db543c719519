// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title PartySignatures
/// @notice The one party-signature rule of escrow-semantics.md, which the backend's
/// `attestpay.party_signatures` applies identically off-chain.
/// @dev OpenZeppelin's `SignatureChecker` sends every account with code to ERC-1271, so an EOA
/// with an EIP-7702 delegation (code 0xef0100 || delegate) could no longer sign with its key. Here
/// the key is tried first, then ERC-1271 for any account with code.
library PartySignatures {
    /// @notice True when `signature` over `digest` is `signer`'s: a 65-byte low-s ECDSA signature
    /// by its key (v 27/28, or 0/1 as some hardware wallets return it, read as 27/28), or, when
    /// `signer` has code (a contract account, or an EOA with an EIP-7702 delegation), its ERC-1271
    /// answer. The signature is handed to ERC-1271 unchanged (a Safe gives v 0/1 its own meaning).
    function isValid(address signer, bytes32 digest, bytes memory signature) internal view returns (bool) {
        if (signature.length == 65) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                r := mload(add(signature, 0x20))
                s := mload(add(signature, 0x40))
                v := byte(0, mload(add(signature, 0x60)))
            }
            if (v < 27) v += 27;
            // slither-disable-next-line unused-return (the third value only details `err`, which is checked)
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
            if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        return signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
    }
}
