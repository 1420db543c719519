// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IAttestationRegistry
/// @notice Oracles anchor Merkle batches of attestation digests, so an auditor can prove an
/// attestation was published (and when). Signatures are withdrawn in the escrow (`revoke`).
/// Leaves follow the StandardMerkleTree of the npm package openzeppelin/merkle-tree with leaf
/// encoding ["bytes32"]: leaf = keccak256(bytes.concat(keccak256(abi.encode(digest)))).
interface IAttestationRegistry {
    /// @notice A batch is stored once, at the block that anchored it.
    struct Batch {
        uint64 anchoredAt; // block timestamp
        uint32 leafCount;
        address anchorer;
    }

    /// @notice `anchorer` published a batch of `leafCount` attestations with Merkle root `root` at `uri`.
    event BatchAnchored(bytes32 indexed root, address indexed anchorer, uint32 leafCount, string uri);

    /// @notice Thrown when a batch has a zero root or no leaves.
    error EmptyBatch();
    /// @notice Thrown when a root is anchored twice.
    error BatchAlreadyAnchored(bytes32 root);

    /// @notice Anchors a batch. Anyone may anchor; the batch records who did, and auditors accept
    /// only batches anchored by a member of the agreement's oracle set.
    function anchor(bytes32 root, uint32 leafCount, string calldata uri) external;

    /// @notice The stored batch for `root` (all zero: never anchored).
    function batch(bytes32 root) external view returns (Batch memory);

    /// @notice The Merkle leaf of an attestation digest.
    function leafHash(bytes32 digest) external pure returns (bytes32);

    /// @notice Whether `digest` is in the anchored batch `root`, by a StandardMerkleTree proof.
    function isIncluded(bytes32 root, bytes32 digest, bytes32[] calldata proof) external view returns (bool);
}
