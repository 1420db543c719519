// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Milestone} from "./EscrowTypes.sol";
import {EscrowHashing} from "./EscrowHashing.sol";

/// @title SettlementCodec
/// @notice Reads a settlement's packed argument in place: every field big-endian at its natural
/// width, no padding, the fixed fields and the three list lengths first, the lists last
/// (docs/contracts.md, "Settlement encoding"; `attestpay/settlement.py` writes it). A settlement is
/// the largest call the escrow takes, and in the ABI's 32-byte words two thirds of its calldata
/// were zero bytes.
///
///     at   0  terms:       client 20, provider 20, arbiter 20, token 20, threshold 1,
///                          cureWindow 4, revision 4, docsHash 32, salt 32, milestonesRoot 32
///     at 185  milestone:   index 1, amount 16, bonus 16, metricId 32, floor 32, target 32,
///                          stretch 32, deadline 8, holdbackPeriod 4, floorPayoutBps 2,
///                          latePenaltyBpsPerDay 2, maxLatePenaltyBps 2, holdbackBps 2,
///                          flags 1 (1 higherIsBetter, 2 requiresClientApproval)
///     at 367  attestation: agreementId 32, value 32, observedAt 8, evidenceHash 32, expiresAt 8
///     at 479  lengths:     s signatures 1, n oracles 1, k proof elements 1
///     at 482  lists:       signatures 65s (r, s, v; ascending signers), oracles 20n (the terms'
///                          set, ascending), proof 32k (the milestone's Merkle proof); then the end
///
/// The attestation's `milestoneIndex` and `metricId` are the milestone's: oracles sign them, so an
/// attestation for another milestone or metric recovers no member of the oracle set. The readers
/// below take `at`, the calldata offset of the packed bytes: every field is at a fixed offset from
/// it or from a length, so no reader keeps state (the optimizer recomputes offsets freely).
library SettlementCodec {
    /// @notice Thrown when a packed settlement's length is not what its list lengths say, or a
    /// milestone flag is unknown.
    error MalformedSettlement(uint256 length);

    // Offsets of the fields (the table above); `client` is at 0.
    uint256 private constant PROVIDER = 20;
    uint256 private constant ARBITER = 40;
    uint256 private constant TOKEN = 60;
    uint256 private constant THRESHOLD = 80;
    uint256 private constant CURE_WINDOW = 81;
    uint256 private constant REVISION = 85;
    uint256 private constant DOCS_HASH = 89; // then salt and milestonesRoot
    uint256 private constant MILESTONES_ROOT = 153;
    uint256 private constant MILESTONE = 185; // the index, then the milestone's terms
    uint256 private constant FLAGS = 366;
    uint256 private constant ATTESTATION = 367; // agreementId
    uint256 private constant VALUE = 399;
    uint256 private constant OBSERVED_AT = 431;
    uint256 private constant EVIDENCE_HASH = 439;
    uint256 private constant EXPIRES_AT = 471;
    uint256 private constant LENGTHS = 479;
    uint256 private constant LISTS = 482;

    /// @notice The calldata offset of a packed settlement, once its length and flags are checked.
    function open(bytes calldata packed) internal pure returns (uint256 at) {
        uint256 expected;
        uint256 flags;
        assembly ("memory-safe") {
            at := packed.offset
            let lengths := calldataload(add(at, LENGTHS))
            expected := add(
                LISTS,
                add(mul(byte(0, lengths), 65), add(mul(byte(1, lengths), 20), shl(5, byte(2, lengths))))
            )
            flags := byte(0, calldataload(add(at, FLAGS)))
        }
        if (packed.length != expected || flags > 3) revert MalformedSettlement(packed.length);
    }

    /// @notice The 65-byte signatures, in place.
    // slither-disable-next-line write-after-write (a calldata slice's offset, then its length)
    function signatures(uint256 at) internal pure returns (bytes calldata sigs) {
        assembly ("memory-safe") {
            sigs.offset := add(at, LISTS)
            sigs.length := mul(byte(0, calldataload(add(at, LENGTHS))), 65)
        }
    }

    /// @notice The milestone's Merkle proof, in place.
    // slither-disable-next-line write-after-write (a calldata slice's offset, then its length)
    function proof(uint256 at) internal pure returns (bytes32[] calldata elements) {
        assembly ("memory-safe") {
            let lengths := calldataload(add(at, LENGTHS))
            elements.offset := add(add(at, LISTS), add(mul(byte(0, lengths), 65), mul(byte(1, lengths), 20)))
            elements.length := byte(2, lengths)
        }
    }

    // ------------------------------------------------------------ terms

    function client(uint256 at) internal pure returns (address) {
        return address(uint160(_uint(at, 0, 160)));
    }

    function provider(uint256 at) internal pure returns (address) {
        return address(uint160(_uint(at, PROVIDER, 160)));
    }

    function token(uint256 at) internal pure returns (address) {
        return address(uint160(_uint(at, TOKEN, 160)));
    }

    function threshold(uint256 at) internal pure returns (uint8) {
        return uint8(_uint(at, THRESHOLD, 8));
    }

    function oracleCount(uint256 at) internal pure returns (uint256) {
        return _uint(at, LENGTHS + 1, 8);
    }

    /// @notice Member `i` of the (ascending) oracle set.
    function oracle(uint256 at, uint256 i) internal pure returns (address a) {
        assembly ("memory-safe") {
            let list := add(add(at, LISTS), mul(byte(0, calldataload(add(at, LENGTHS))), 65))
            a := shr(96, calldataload(add(list, mul(i, 20))))
        }
    }

    /// @notice The terms' EIP-712 struct hash (the agreement id until an amendment), built from the
    /// packed fields in scratch memory.
    function termsHash(uint256 at) internal pure returns (bytes32 h) {
        bytes32 typehash = EscrowHashing.AGREEMENT_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            let lengths := calldataload(add(at, LENGTHS))
            let n := byte(1, lengths)
            let list := add(add(at, LISTS), mul(byte(0, lengths), 65))
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(p, shl(5, i)), shr(96, calldataload(add(list, mul(i, 20)))))
            }
            let oraclesHash := keccak256(p, shl(5, n))
            mstore(p, typehash)
            mstore(add(p, 0x20), shr(96, calldataload(at)))
            mstore(add(p, 0x40), shr(96, calldataload(add(at, PROVIDER))))
            mstore(add(p, 0x60), shr(96, calldataload(add(at, ARBITER))))
            mstore(add(p, 0x80), shr(96, calldataload(add(at, TOKEN))))
            mstore(add(p, 0xa0), oraclesHash)
            mstore(add(p, 0xc0), byte(0, calldataload(add(at, THRESHOLD))))
            mstore(add(p, 0xe0), shr(224, calldataload(add(at, CURE_WINDOW))))
            mstore(add(p, 0x100), shr(224, calldataload(add(at, REVISION))))
            calldatacopy(add(p, 0x120), add(at, DOCS_HASH), 0x60) // docsHash, salt, milestonesRoot
            h := keccak256(p, 0x180)
        }
    }

    function milestonesRoot(uint256 at) internal pure returns (bytes32) {
        return bytes32(_uint(at, MILESTONES_ROOT, 256));
    }

    // ------------------------------------------------------------ milestone

    function milestoneIndex(uint256 at) internal pure returns (uint256) {
        return _uint(at, MILESTONE, 8);
    }

    /// @notice The milestone's terms, for `PayoutMath` and its leaf hash.
    function decodeMilestone(uint256 at) internal pure returns (Milestone memory m) {
        assembly ("memory-safe") {
            let p := add(at, MILESTONE)
            mstore(m, shr(128, calldataload(add(p, 1)))) // amount
            mstore(add(m, 0x20), shr(128, calldataload(add(p, 17)))) // bonus
            calldatacopy(add(m, 0x40), add(p, 33), 0x80) // metricId, floor, target, stretch
            mstore(add(m, 0xc0), shr(192, calldataload(add(p, 161)))) // deadline
            mstore(add(m, 0xe0), shr(224, calldataload(add(p, 169)))) // holdbackPeriod
            let bps := shr(192, calldataload(add(p, 173))) // four uint16
            mstore(add(m, 0x100), shr(48, bps))
            mstore(add(m, 0x120), and(shr(32, bps), 0xffff))
            mstore(add(m, 0x140), and(shr(16, bps), 0xffff))
            mstore(add(m, 0x160), and(bps, 0xffff))
            let flags := byte(0, calldataload(add(p, 181))) // at most 3 (`open`)
            mstore(add(m, 0x180), and(flags, 1))
            mstore(add(m, 0x1a0), shr(1, flags))
        }
    }

    // ------------------------------------------------------------ attestation

    function agreementId(uint256 at) internal pure returns (bytes32) {
        return bytes32(_uint(at, ATTESTATION, 256));
    }

    function value(uint256 at) internal pure returns (int256) {
        return int256(_uint(at, VALUE, 256));
    }

    function observedAt(uint256 at) internal pure returns (uint64) {
        return uint64(_uint(at, OBSERVED_AT, 64));
    }

    function evidenceHash(uint256 at) internal pure returns (bytes32) {
        return bytes32(_uint(at, EVIDENCE_HASH, 256));
    }

    function expiresAt(uint256 at) internal pure returns (uint64) {
        return uint64(_uint(at, EXPIRES_AT, 64));
    }

    /// @notice The attestation's EIP-712 struct hash, with the milestone's index and metric.
    function attestationHash(uint256 at, uint256 index, bytes32 metricId) internal pure returns (bytes32 h) {
        bytes32 typehash = EscrowHashing.ATTESTATION_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typehash)
            mstore(add(p, 0x20), calldataload(add(at, ATTESTATION)))
            mstore(add(p, 0x40), index)
            mstore(add(p, 0x60), metricId)
            mstore(add(p, 0x80), calldataload(add(at, VALUE)))
            mstore(add(p, 0xa0), shr(192, calldataload(add(at, OBSERVED_AT))))
            mstore(add(p, 0xc0), calldataload(add(at, EVIDENCE_HASH)))
            mstore(add(p, 0xe0), shr(192, calldataload(add(at, EXPIRES_AT))))
            h := keccak256(p, 0x100)
        }
    }

    /// @dev The `bits`-wide big-endian unsigned integer at `offset` of the packed settlement.
    function _uint(uint256 at, uint256 offset, uint256 bits) private pure returns (uint256 x) {
        assembly ("memory-safe") {
            x := shr(sub(256, bits), calldataload(add(at, offset)))
        }
    }
}
