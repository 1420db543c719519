// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MilestoneStatus, Phase} from "./EscrowTypes.sol";

/// @notice An agreement's one storage slot, read and written whole (a settlement reads it once and
/// writes it once): phase in bits 0-7, milestone count in 8-15, the "amended" flag in 16-23, and
/// from bit 24 the 2-bit `MilestoneStatus` of each of up to 112 milestones.
type AgreementSlot is uint256;

using AgreementSlots for AgreementSlot global;

/// @title AgreementSlots
/// @notice Reads and updates of an `AgreementSlot`; every update returns the new word.
library AgreementSlots {
    uint256 private constant STATUSES = 24;

    function create(Phase phase_, uint256 milestoneCount_) internal pure returns (AgreementSlot) {
        return AgreementSlot.wrap(uint256(phase_) | (milestoneCount_ << 8));
    }

    function phase(AgreementSlot s) internal pure returns (Phase phase_) {
        assembly ("memory-safe") {
            phase_ := and(s, 0xff) // only `create` and `withPhase` write it: always a Phase
        }
    }

    function milestoneCount(AgreementSlot s) internal pure returns (uint256) {
        return uint8(AgreementSlot.unwrap(s) >> 8);
    }

    function amended(AgreementSlot s) internal pure returns (bool) {
        return uint8(AgreementSlot.unwrap(s) >> 16) != 0;
    }

    /// @notice The status of milestone `index` (below the milestone count).
    function status(AgreementSlot s, uint256 index) internal pure returns (MilestoneStatus status_) {
        uint256 shift = STATUSES + 2 * index;
        assembly ("memory-safe") {
            status_ := and(shr(shift, s), 3) // two bits: always a MilestoneStatus, no range check needed
        }
    }

    function withPhase(AgreementSlot s, Phase phase_) internal pure returns (AgreementSlot) {
        return AgreementSlot.wrap((AgreementSlot.unwrap(s) & ~uint256(0xff)) | uint256(phase_));
    }

    function withMilestoneCount(AgreementSlot s, uint256 count) internal pure returns (AgreementSlot) {
        return AgreementSlot.wrap((AgreementSlot.unwrap(s) & ~uint256(0xff << 8)) | (count << 8));
    }

    function withAmended(AgreementSlot s) internal pure returns (AgreementSlot) {
        return AgreementSlot.wrap(AgreementSlot.unwrap(s) | (1 << 16));
    }

    function withStatus(AgreementSlot s, uint256 index, MilestoneStatus status_) internal pure returns (AgreementSlot) {
        uint256 shift = STATUSES + 2 * index;
        return AgreementSlot.wrap((AgreementSlot.unwrap(s) & ~(uint256(3) << shift)) | (uint256(status_) << shift));
    }
}
