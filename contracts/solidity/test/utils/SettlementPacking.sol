// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgreementTerms, Attestation, Milestone} from "../../libraries/EscrowTypes.sol";

/// @notice `settleMilestonePacked`'s argument as `SettlementCodec` reads it (and
/// `attestpay/settlement.py` writes it). The attestation's metric is not packed: the escrow takes
/// the milestone's, so oracles that signed another metric recover as strangers. `sigs` is packed
/// as given: a length that is not a multiple of 65 makes a malformed settlement.
function packSettlement(
    AgreementTerms memory t,
    Milestone memory m,
    bytes32[] memory proof,
    Attestation memory a,
    bytes memory sigs
) pure returns (bytes memory) {
    bytes memory terms = bytes.concat(
        abi.encodePacked(t.client, t.provider, t.arbiter, t.token),
        abi.encodePacked(t.threshold, t.cureWindow, t.revision, t.docsHash, t.salt)
    );
    bytes memory milestone = bytes.concat(
        abi.encodePacked(
            t.milestonesRoot, uint8(a.milestoneIndex), m.amount, m.bonus, m.metricId, m.floor, m.target, m.stretch
        ),
        abi.encodePacked(
            m.deadline,
            m.holdbackPeriod,
            m.floorPayoutBps,
            m.latePenaltyBpsPerDay,
            m.maxLatePenaltyBps,
            m.holdbackBps,
            uint8((m.higherIsBetter ? 1 : 0) | (m.requiresClientApproval ? 2 : 0))
        )
    );
    bytes memory attestation = bytes.concat(
        abi.encodePacked(a.agreementId, a.value, a.observedAt, a.evidenceHash, a.expiresAt),
        abi.encodePacked(uint8(sigs.length / 65), uint8(t.oracles.length), uint8(proof.length))
    );
    bytes memory oracles;
    for (uint256 i = 0; i < t.oracles.length; ++i) {
        oracles = bytes.concat(oracles, bytes20(t.oracles[i])); // encodePacked pads array members to 32 bytes
    }
    return bytes.concat(terms, milestone, attestation, sigs, oracles, abi.encodePacked(proof));
}
