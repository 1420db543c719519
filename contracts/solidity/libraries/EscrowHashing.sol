// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {AgreementTerms, Attestation, Milestone} from "./EscrowTypes.sol";

/// @title EscrowHashing
/// @notice EIP-712 struct hashes of everything the escrow verifies, and the milestone Merkle tree.
/// `attestpay/typed_data.py` builds the same hashes; shared JSON vectors keep the two equal.
library EscrowHashing {
    // Agreement(address client,address provider,address arbiter,address token,address[] oracles,uint8 threshold,uint32 cureWindow,uint32 revision,bytes32 docsHash,bytes32 salt,bytes32 milestonesRoot)
    bytes32 internal constant AGREEMENT_TYPEHASH = keccak256(
        "Agreement(address client,address provider,address arbiter,address token,address[] oracles,uint8 threshold,uint32 cureWindow,uint32 revision,bytes32 docsHash,bytes32 salt,bytes32 milestonesRoot)"
    );
    // Milestone(uint256 index,uint128 amount,uint128 bonus,bytes32 metricId,int256 floor,int256 target,int256 stretch,uint64 deadline,uint32 holdbackPeriod,uint16 floorPayoutBps,uint16 latePenaltyBpsPerDay,uint16 maxLatePenaltyBps,uint16 holdbackBps,bool higherIsBetter,bool requiresClientApproval)
    bytes32 internal constant MILESTONE_TYPEHASH = keccak256(
        "Milestone(uint256 index,uint128 amount,uint128 bonus,bytes32 metricId,int256 floor,int256 target,int256 stretch,uint64 deadline,uint32 holdbackPeriod,uint16 floorPayoutBps,uint16 latePenaltyBpsPerDay,uint16 maxLatePenaltyBps,uint16 holdbackBps,bool higherIsBetter,bool requiresClientApproval)"
    );
    // MetricAttestation(bytes32 agreementId,uint256 milestoneIndex,bytes32 metricId,int256 value,uint64 observedAt,bytes32 evidenceHash,uint64 expiresAt)
    bytes32 internal constant ATTESTATION_TYPEHASH = keccak256(
        "MetricAttestation(bytes32 agreementId,uint256 milestoneIndex,bytes32 metricId,int256 value,uint64 observedAt,bytes32 evidenceHash,uint64 expiresAt)"
    );
    // Amendment(bytes32 agreementId,bytes32 fromTermsHash,bytes32 toTermsHash)
    bytes32 internal constant AMENDMENT_TYPEHASH =
        keccak256("Amendment(bytes32 agreementId,bytes32 fromTermsHash,bytes32 toTermsHash)");
    // MilestoneApproval(bytes32 agreementId,uint256 milestoneIndex)
    bytes32 internal constant APPROVAL_TYPEHASH =
        keccak256("MilestoneApproval(bytes32 agreementId,uint256 milestoneIndex)");
    // PartialAcceptance(bytes32 agreementId,uint256 milestoneIndex,int256 value,bytes32 attestation)
    bytes32 internal constant PARTIAL_ACCEPTANCE_TYPEHASH =
        keccak256("PartialAcceptance(bytes32 agreementId,uint256 milestoneIndex,int256 value,bytes32 attestation)");
    // DisputeSplit(bytes32 agreementId,uint256 milestoneIndex,bool holdback,uint16 providerShareBps)
    bytes32 internal constant DISPUTE_SPLIT_TYPEHASH =
        keccak256("DisputeSplit(bytes32 agreementId,uint256 milestoneIndex,bool holdback,uint16 providerShareBps)");

    /// @dev Hashed in place from calldata (no ABI decoding into memory): the oracle list's words,
    /// then the typehash, the four address words, that hash and the six words after `oracles`.
    /// Non-canonical calldata (dirty high bits) hashes to an id no agreement has, so it is refused.
    function hashTerms(AgreementTerms calldata t) internal pure returns (bytes32 h) {
        bytes32 typehash = AGREEMENT_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            let list := add(t, calldataload(add(t, 0x80))) // the address[] tail: length, then words
            let size := shl(5, calldataload(list))
            calldatacopy(p, add(list, 0x20), size)
            let oraclesHash := keccak256(p, size)
            mstore(p, typehash)
            calldatacopy(add(p, 0x20), t, 0x80) // client, provider, arbiter, token
            mstore(add(p, 0xa0), oraclesHash)
            calldatacopy(add(p, 0xc0), add(t, 0xa0), 0xc0) // threshold .. milestonesRoot
            h := keccak256(p, 0x180)
        }
    }

    /// @notice The hash of `t` with the fields an amendment may change replaced.
    function hashTerms(AgreementTerms calldata t, bytes32 oraclesHash, uint8 threshold, uint32 revision, bytes32 root)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            bytes.concat(
                abi.encode(AGREEMENT_TYPEHASH, t.client, t.provider, t.arbiter, t.token, oraclesHash),
                abi.encode(threshold, t.cureWindow, revision, t.docsHash, t.salt, root)
            )
        );
    }

    /// @dev Milestone has only static fields, so its ABI encoding is exactly its EIP-712 encodeData:
    /// its 14 calldata words are hashed as they are, behind the typehash and index. Non-canonical
    /// calldata hashes to a leaf no tree holds (and creation re-encodes milestones in its event,
    /// which refuses them), so it is refused.
    function hashMilestone(uint256 index, Milestone calldata m) internal pure returns (bytes32 h) {
        bytes32 typehash = MILESTONE_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typehash)
            mstore(add(p, 0x20), index)
            calldatacopy(add(p, 0x40), m, 0x1c0)
            h := keccak256(p, 0x200)
        }
    }

    /// @dev Hashed in place: the two words before `m` briefly hold the typehash and index, and get
    /// their contents back before anything else runs.
    function hashMilestoneMemory(uint256 index, Milestone memory m) internal pure returns (bytes32 h) {
        bytes32 typehash = MILESTONE_TYPEHASH;
        assembly ("memory-safe") {
            let at := sub(m, 0x40)
            let saved0 := mload(at)
            let saved1 := mload(add(at, 0x20))
            mstore(at, typehash)
            mstore(add(at, 0x20), index)
            h := keccak256(at, 0x200)
            mstore(at, saved0)
            mstore(add(at, 0x20), saved1)
        }
    }

    /// @dev The 7 static calldata words hashed as they are behind the typehash (oracles sign the
    /// canonical encoding, so non-canonical calldata recovers no member).
    function hashAttestation(Attestation calldata a) internal pure returns (bytes32 h) {
        bytes32 typehash = ATTESTATION_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typehash)
            calldatacopy(add(p, 0x20), a, 0xe0)
            h := keccak256(p, 0x100)
        }
    }

    function hashAmendment(bytes32 agreementId, bytes32 fromTermsHash, bytes32 toTermsHash)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(AMENDMENT_TYPEHASH, agreementId, fromTermsHash, toTermsHash));
    }

    function hashApproval(bytes32 agreementId, uint256 index) internal pure returns (bytes32) {
        return keccak256(abi.encode(APPROVAL_TYPEHASH, agreementId, index));
    }

    function hashPartialAcceptance(bytes32 agreementId, uint256 index, int256 value, bytes32 attestation)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(PARTIAL_ACCEPTANCE_TYPEHASH, agreementId, index, value, attestation));
    }

    function hashDisputeSplit(bytes32 agreementId, uint256 index, bool holdback, uint16 providerShareBps)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(DISPUTE_SPLIT_TYPEHASH, agreementId, index, holdback, providerShareBps));
    }

    /// @notice Root of the milestone tree: pairs hashed in sorted order (OpenZeppelin `MerkleProof`),
    /// an odd node carried up unchanged. Overwrites `leaves`.
    function merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        while (n > 1) {
            uint256 half = n / 2;
            for (uint256 i = 0; i < half; ++i) {
                leaves[i] = Hashes.commutativeKeccak256(leaves[2 * i], leaves[2 * i + 1]);
            }
            if (n % 2 == 1) leaves[half] = leaves[n - 1];
            n = n - half;
        }
        return leaves[0];
    }
}
