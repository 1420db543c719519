// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Agreement-level terms. Never stored: the escrow keeps their EIP-712 hash and every call
/// passes them as calldata (cheaper than storage; see docs/contracts.md, "Storage layout").
struct AgreementTerms {
    address client;
    address provider;
    address arbiter; // zero: no arbiter, disputes resolve only by a split both parties sign
    address token; // zero: ETH
    address[] oracles; // strictly ascending, 1..16 members
    uint8 threshold; // M of the M-of-N oracle set
    uint32 cureWindow; // seconds after a deadline before the client may reclaim
    uint32 revision; // bumped by every consented change, so an amendment signature never replays
    bytes32 docsHash; // EIP-712 hash of the full off-chain terms (metric specs, sources, documents)
    bytes32 salt; // makes otherwise identical agreements distinct
    bytes32 milestonesRoot; // Merkle root (OpenZeppelin MerkleProof, sorted pairs) of the milestone leaves
}

/// @notice Payment terms of one milestone; a leaf of `AgreementTerms.milestonesRoot`.
struct Milestone {
    uint128 amount; // base payment at full achievement, > 0
    uint128 bonus; // maximum bonus, escrowed up front
    bytes32 metricId; // hash of the metric's canonical spec
    int256 floor;
    int256 target;
    int256 stretch;
    uint64 deadline;
    uint32 holdbackPeriod;
    uint16 floorPayoutBps;
    uint16 latePenaltyBpsPerDay;
    uint16 maxLatePenaltyBps;
    uint16 holdbackBps;
    bool higherIsBetter;
    bool requiresClientApproval;
}

/// @notice A metric value signed by the oracle set over the escrow's EIP-712 domain.
struct Attestation {
    bytes32 agreementId;
    uint256 milestoneIndex;
    bytes32 metricId;
    int256 value;
    uint64 observedAt;
    bytes32 evidenceHash; // hash of the raw evidence bytes the value was computed from
    uint64 expiresAt;
}

/// @notice Every figure of one settlement (spec: escrow-semantics.md, "Settlement").
struct Payout {
    uint256 earnedBps;
    uint256 base;
    uint256 bonusEarned;
    uint256 penaltyBps;
    uint256 penalty;
    uint256 net;
    uint256 holdback;
    uint256 paidNow;
    uint256 refund;
}

enum Phase {
    None,
    ProposedByClient, // awaiting the provider's consent
    ProposedByProvider, // awaiting the client's consent
    Consented, // awaiting funds
    Active, // funded: milestones can settle
    Cancelled
}

enum MilestoneStatus {
    Open,
    Disputed,
    Settled, // paid; a holdback may still be pending (see `MilestoneExtra`)
    Closed // reclaimed by the client or split by a dispute resolution
}

/// @notice An EIP-2612 permit the payer signed for the escrow over exactly the funding total
/// (`permit(payer, escrow, total, deadline, v, r, s)` on the agreement's token).
struct Permit {
    uint256 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}
