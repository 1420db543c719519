// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAttestationRegistry} from "./interfaces/IAttestationRegistry.sol";

/// @title AttestationRegistry
/// @dev One slot per batch (timestamp, leaf count and anchorer packed), one slot per revocation;
/// the URI lives only in the event.
contract AttestationRegistry is IAttestationRegistry {
    mapping(bytes32 root => Batch) private _batches;
    mapping(bytes32 digest => address signer) private _revokedBy;

    /// @inheritdoc IAttestationRegistry
    function anchor(bytes32 root, uint32 leafCount, string calldata uri) external {
        if (root == bytes32(0) || leafCount == 0) revert EmptyBatch();
        if (_batches[root].anchoredAt != 0) revert BatchAlreadyAnchored(root);
        _batches[root] = Batch(uint64(block.timestamp), leafCount, msg.sender);
        emit BatchAnchored(root, msg.sender, leafCount, uri);
    }

    /// @inheritdoc IAttestationRegistry
    function revoke(bytes32 digest, bytes calldata signature) external {
        // slither-disable-next-line unused-return (the third value only details `err`, which is checked)
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != msg.sender) revert NotTheSigner(msg.sender);
        if (_revokedBy[digest] != address(0)) revert AlreadyRevoked(digest);
        _revokedBy[digest] = msg.sender;
        emit AttestationRevoked(digest, msg.sender);
    }

    /// @inheritdoc IAttestationRegistry
    function isRevoked(bytes32 digest) external view returns (bool) {
        return _revokedBy[digest] != address(0);
    }

    /// @inheritdoc IAttestationRegistry
    function revokedBy(bytes32 digest) external view returns (address) {
        return _revokedBy[digest];
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
