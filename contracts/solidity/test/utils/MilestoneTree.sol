// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {EscrowHashing} from "../../libraries/EscrowHashing.sol";
import {Milestone} from "../../libraries/EscrowTypes.sol";

/// @notice Leaves, root and proofs of the milestone tree `EscrowHashing.merkleRoot` builds
/// (sorted pairs, odd node carried up), for tests.
library MilestoneTree {
    function leaves(Milestone[] memory ms) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](ms.length);
        for (uint256 i = 0; i < ms.length; ++i) {
            out[i] = EscrowHashing.hashMilestoneMemory(i, ms[i]);
        }
    }

    function root(Milestone[] memory ms) internal pure returns (bytes32) {
        return EscrowHashing.merkleRoot(leaves(ms));
    }

    function proof(Milestone[] memory ms, uint256 index) internal pure returns (bytes32[] memory out) {
        bytes32[] memory level = leaves(ms);
        bytes32[] memory buffer = new bytes32[](8);
        uint256 depth = 0;
        uint256 n = level.length;
        while (n > 1) {
            if ((index ^ 1) < n) buffer[depth++] = level[index ^ 1];
            uint256 half = n / 2;
            for (uint256 i = 0; i < half; ++i) {
                level[i] = Hashes.commutativeKeccak256(level[2 * i], level[2 * i + 1]);
            }
            if (n % 2 == 1) level[half] = level[n - 1];
            n = n - half;
            index /= 2;
        }
        out = new bytes32[](depth);
        for (uint256 i = 0; i < depth; ++i) {
            out[i] = buffer[i];
        }
    }
}
