// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAttestationRegistry} from "./interfaces/IAttestationRegistry.sol";

/// @title AttestationRegistry
/// @dev One slot per batch (timestamp, leaf count and anchorer packed); the URI lives only in the event.
contract AttestationRegistry is IAttestationRegistry {
    mapping(bytes32 root => Batch) private _batches;

    /// @inheritdoc IAttestationRegistry
    function anchor(bytes32 root, uint32 leafCount, string calldata uri) external {
        if (root == bytes32(0) || leafCount == 0) revert EmptyBatch();
        if (_batches[root].anchoredAt != 0) revert BatchAlreadyAnchored(root);
        _batches[root] = Batch(uint64(block.timestamp), leafCount, msg.sender);
        emit BatchAnchored(root, msg.sender, leafCount, uri);
    }

    /// @inheritdoc IAttestationRegistry
    function batch(bytes32 root) external view returns (Batch memory) {
        return _batches[root];
    }

    /// @inheritdoc IAttestationRegistry
    function leafHash(bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }

    /// @inheritdoc IAttestationRegistry
    function isIncluded(bytes32 root, bytes32 digest, bytes32[] calldata proof) external view returns (bool) {
        return _batches[root].anchoredAt != 0 && MerkleProof.verifyCalldata(proof, root, leafHash(digest));
    }
}
