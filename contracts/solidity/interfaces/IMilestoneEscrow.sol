// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {
    AgreementTerms,
    Attestation,
    Milestone,
    MilestoneStatus,
    Payout,
    Permit,
    Phase
} from "../libraries/EscrowTypes.sol";

/// @title IMilestoneEscrow
/// @notice Holds a client's money per milestone and pays it out by the rules of escrow-semantics.md.
/// Terms are never stored: every call passes them as calldata and the escrow checks them against
/// the EIP-712 hash it keeps (the agreement id is the hash of the terms as first agreed).
interface IMilestoneEscrow {
    // ---------------------------------------------------------------- events

    /// @notice An agreement was registered; `phase` is Consented when the counterparty's signature
    /// came with it, else ProposedByClient/ProposedByProvider.
    event AgreementCreated(
        bytes32 indexed agreementId,
        address indexed client,
        address indexed provider,
        AgreementTerms terms,
        Milestone[] milestones,
        Phase phase
    );
    /// @notice The awaited party consented by transaction.
    event AgreementConsented(bytes32 indexed agreementId, address indexed party);
    /// @notice `funder` paid `amount` (the sum of amount + bonus of every milestone) in the agreement's token.
    event AgreementFunded(bytes32 indexed agreementId, address indexed funder, uint256 amount);
    /// @notice A party withdrew before the agreement was funded.
    event AgreementCancelled(bytes32 indexed agreementId, address indexed party);
    /// @notice Both parties agreed to new terms; `termsHash` is what calls must now match.
    event TermsAmended(bytes32 indexed agreementId, uint32 revision, bytes32 termsHash);
    /// @notice A milestone was appended (and funded by `funder`) under a consented amendment.
    event MilestoneAdded(bytes32 indexed agreementId, uint256 indexed index, Milestone milestone, address funder);
    /// @notice A milestone's deadline moved later under a consented amendment.
    event DeadlineExtended(bytes32 indexed agreementId, uint256 indexed index, uint64 deadline);
    /// @notice The oracle set changed under a consented amendment.
    event OraclesRotated(bytes32 indexed agreementId, address[] oracles, uint8 threshold);
    /// @notice The client approved an acceptance-type milestone: by transaction (`approveMilestone`),
    /// or by its `MilestoneApproval` signature carried into the settlement (`bySignature`).
    event MilestoneApproved(bytes32 indexed agreementId, uint256 indexed index, bool bySignature);
    /// @notice The provider accepted settling below target on the attestation `attestation` (its
    /// EIP-712 digest): by sending the settlement itself, or by its `PartialAcceptance` signature
    /// carried by someone else (`bySignature`). Emitted just before that `MilestoneSettled`.
    event PartialResultAccepted(
        bytes32 indexed agreementId, uint256 indexed index, int256 value, bytes32 attestation, bool bySignature
    );
    /// @notice A milestone settled on an attestation: its EIP-712 digest and the signed `value`,
    /// `observedAt` and `evidenceHash`, so that with the milestone terms (from `AgreementCreated` or
    /// `MilestoneAdded`) `PayoutMath` rebuilds every figure, and the evidence can be fetched by hash.
    event MilestoneSettled(
        bytes32 indexed agreementId,
        uint256 indexed index,
        bytes32 attestation,
        int256 value,
        uint64 observedAt,
        bytes32 evidenceHash,
        uint256 paidNow,
        uint256 holdback,
        uint256 refund
    );
    /// @notice The client took back amount + bonus of a milestone left unsettled past deadline + cure window.
    event MilestoneReclaimed(bytes32 indexed agreementId, uint256 indexed index, uint256 amount);
    /// @notice A holdback was paid to the provider.
    event HoldbackReleased(bytes32 indexed agreementId, uint256 indexed index, uint256 amount);
    /// @notice A party froze a milestone (`holdback` false) or its holdback (`holdback` true).
    event DisputeOpened(bytes32 indexed agreementId, uint256 indexed index, address indexed party, bool holdback);
    /// @notice A dispute was split: `toProvider` + `toClient` is the whole disputed amount.
    event DisputeResolved(
        bytes32 indexed agreementId,
        uint256 indexed index,
        bool holdback,
        uint16 providerShareBps,
        uint256 toProvider,
        uint256 toClient
    );
    /// @notice A payment to `account` failed and was credited for a later `withdraw`.
    event Credited(address indexed token, address indexed account, uint256 amount);
    /// @notice `account` withdrew its credit to `to`.
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);
    /// @notice `signer` withdrew its signature of the attestation with EIP-712 digest `digest`.
    event SignatureRevoked(bytes32 indexed digest, address indexed signer);

    // ---------------------------------------------------------------- errors

    /// @notice Thrown when client or provider is zero or they are the same address.
    error InvalidParties(address client, address provider);
    /// @notice Thrown when the arbiter is one of the parties.
    error ArbiterIsParty(address arbiter);
    /// @notice Thrown when an oracle set is empty, larger than 16, or its threshold is not 1..N.
    error InvalidOracleSet(uint256 size, uint8 threshold);
    /// @notice Thrown when oracle addresses are not strictly ascending (which also rules out zero and duplicates).
    error OraclesNotAscending(uint256 position);
    /// @notice Thrown when an agreement has no milestones or more than `MAX_MILESTONES`.
    error InvalidMilestoneCount(uint256 count);
    /// @notice Thrown when a milestone's amount is zero.
    error ZeroAmount(uint256 index);
    /// @notice Thrown when a basis-point field exceeds 10000.
    error BpsOutOfRange(uint256 index, uint256 bps);
    /// @notice Thrown when floor, target and stretch are not ordered in the metric's direction.
    error ThresholdsMisordered(uint256 index);
    /// @notice Thrown when a milestone has a bonus but its stretch is not strictly beyond its target.
    error BonusWithoutStretch(uint256 index);
    /// @notice Thrown when a milestone's deadline is not in the future.
    error DeadlineInPast(uint256 index, uint64 deadline);
    /// @notice Thrown when the milestones do not hash to the terms' `milestonesRoot`.
    error MilestonesRootMismatch(bytes32 expected, bytes32 actual);
    /// @notice Thrown when an agreement with these terms already exists.
    error AgreementExists(bytes32 agreementId);
    /// @notice Thrown when no agreement has this id.
    error UnknownAgreement(bytes32 agreementId);
    /// @notice Thrown when the passed terms do not hash to the agreement's current terms.
    error TermsMismatch(bytes32 expected, bytes32 actual);
    /// @notice Thrown when the agreement is not in the phase the call needs.
    error WrongPhase(bytes32 agreementId, Phase phase);
    /// @notice Thrown when the caller is not the party (or arbiter) this call is reserved for.
    error Unauthorized(address caller);
    /// @notice Thrown when a counterparty signature is missing or not by `signer`.
    error InvalidPartySignature(address signer);
    /// @notice Thrown when a permit is offered for an ETH agreement (permits exist for ERC-20 tokens only).
    error PermitWithoutToken();
    /// @notice Thrown when the token refused `owner`'s permit and no allowance covers `amount` either.
    error PermitRefused(address token, address owner, uint256 amount);
    /// @notice Thrown when msg.value is not the exact amount an ETH call needs (or non-zero for a token).
    error WrongEtherAmount(uint256 expected, uint256 sent);
    /// @notice Thrown when a token delivered less than the amount transferred (fee-on-transfer tokens).
    error FeeOnTransferToken(address token, uint256 expected, uint256 received);
    /// @notice Thrown when a milestone index is not below the agreement's milestone count.
    error MilestoneIndexOutOfRange(uint256 index, uint256 count);
    /// @notice Thrown when a milestone and proof do not lead to the terms' `milestonesRoot`.
    error InvalidMilestoneProof(uint256 index);
    /// @notice Thrown when the milestone is not in the status the call needs.
    error WrongMilestoneStatus(uint256 index, MilestoneStatus status);
    /// @notice Thrown when an attestation is observed after the current block's timestamp.
    error AttestationFromFuture(uint64 observedAt);
    /// @notice Thrown when an attestation's `expiresAt` has passed.
    error AttestationExpired(uint64 expiresAt);
    /// @notice Thrown when a signature in the bundle is one its signer withdrew with `revoke`
    /// (relayers pack only unrevoked signatures; others' revocations are never read).
    error RevokedSignature(address signer);
    /// @notice Thrown when fewer signatures than the threshold are given.
    error NotEnoughSignatures(uint256 given, uint8 threshold);
    /// @notice Thrown when a signature is malformed or high-s.
    error InvalidSignature(uint256 position);
    /// @notice Thrown when signers are not strictly ascending (duplicates included).
    error SignersNotAscending(uint256 position);
    /// @notice Thrown when a signer is not in the agreement's oracle set.
    error SignerNotInOracleSet(address signer);
    /// @notice Thrown when a value below target is settled without the provider's acceptance.
    error PartialResultNotAccepted(int256 value, int256 target);
    /// @notice Thrown when an acceptance-type milestone settles without the client's approval.
    error ClientApprovalMissing(uint256 index);
    /// @notice Thrown when the client reclaims before deadline + cure window has passed.
    error ReclaimTooEarly(uint256 availableAfter);
    /// @notice Thrown when a milestone has no pending holdback.
    error NoHoldback(uint256 index);
    /// @notice Thrown when a holdback is released before its release time.
    error HoldbackNotDue(uint64 releaseAt);
    /// @notice Thrown when a holdback under dispute is released.
    error HoldbackDisputed(uint256 index);
    /// @notice Thrown when there is nothing open to dispute (or the holdback's release time has passed).
    error NothingToDispute(uint256 index);
    /// @notice Thrown when a holdback split is asked for a holdback that is not disputed.
    error NotDisputed(uint256 index);
    /// @notice Thrown when an amended deadline is not later than the current one.
    error DeadlineNotExtended(uint64 current, uint64 proposed);
    /// @notice Thrown when the caller has no credit in this token.
    error NothingToWithdraw(address token, address account);
    /// @notice Thrown when an ETH withdrawal to `to` fails.
    error WithdrawFailed(address to);
    /// @notice Thrown when `signer` revokes its signature of `digest` twice.
    error AlreadyRevoked(bytes32 digest, address signer);

    // ---------------------------------------------------------------- lifecycle

    /// @notice Registers an agreement proposed by the caller (client or provider). With the other
    /// party's EIP-712 signature over the `Agreement` struct it is consented at once; with empty
    /// `counterpartySignature` it waits for `consent`.
    /// @return agreementId the EIP-712 hash of `terms`.
    function create(
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        bytes calldata counterpartySignature
    ) external returns (bytes32 agreementId);

    /// @notice `create` with the counterparty's signature, then `fund` by the caller, in one transaction.
    function createAndFund(
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        bytes calldata counterpartySignature
    ) external payable returns (bytes32 agreementId);

    /// @notice The awaited party consents to a proposed agreement by transaction.
    function consent(bytes32 agreementId, AgreementTerms calldata terms) external;

    /// @notice Pays amount + bonus of every milestone (ETH as msg.value, or an ERC-20 by transferFrom
    /// the caller) and activates a consented agreement.
    function fund(bytes32 agreementId, AgreementTerms calldata terms, Milestone[] calldata milestones) external payable;

    /// @notice `fund` of an ERC-20 agreement with the caller's EIP-2612 permit for the funding
    /// total, in one transaction (no separate `approve`).
    function fundWithPermit(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        Permit calldata permit
    ) external;

    /// @notice Registers and funds an ERC-20 agreement on behalf of both parties, from anyone (a
    /// relayer paying the gas): both parties' EIP-712 signatures over the `Agreement` struct (a
    /// party's own is not needed when it sends the transaction), and the client's EIP-2612 permit
    /// for the funding total, which the escrow takes from the client.
    /// @dev The client's signature over these exact terms is what binds its permit to this agreement.
    /// @return agreementId the EIP-712 hash of `terms`.
    function createAndFundFor(
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        bytes calldata clientSignature,
        bytes calldata providerSignature,
        Permit calldata permit
    ) external returns (bytes32 agreementId);

    /// @notice Either party drops an agreement that is not funded yet.
    function cancel(bytes32 agreementId, AgreementTerms calldata terms) external;

    // ---------------------------------------------------------------- settlement

    /// @notice Settles a milestone on an attestation signed by at least `threshold` oracles, their
    /// 65-byte signatures packed in ascending signer order. Below target only the provider may call;
    /// acceptance-type milestones need the client's prior `approveMilestone`. `settlement` packs the
    /// terms, the milestone, its proof, the attestation and the signatures without ABI padding
    /// (`SettlementCodec`; docs/contracts.md, "Settlement encoding").
    function settleMilestonePacked(bytes calldata settlement) external;

    /// @notice `settleMilestonePacked` for a relayer: the client's `MilestoneApproval` and the provider's
    /// `PartialAcceptance` come as EIP-712 signatures (either may be empty when not needed).
    function settleWithConsents(
        bytes calldata settlement,
        bytes calldata clientApproval,
        bytes calldata providerAcceptance
    ) external;

    /// @notice The client approves an acceptance-type milestone.
    function approveMilestone(bytes32 agreementId, AgreementTerms calldata terms, uint256 index) external;

    /// @notice The client takes back amount + bonus of a milestone still open after deadline + cure window.
    function reclaim(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        Milestone calldata milestone,
        bytes32[] calldata proof
    ) external;

    /// @notice Anyone pays a due, undisputed holdback to the provider.
    function releaseHoldback(bytes32 agreementId, AgreementTerms calldata terms, uint256 index) external;

    // ---------------------------------------------------------------- disputes

    /// @notice Client or provider freezes an open milestone, or a settled milestone's holdback before it is due.
    function openDispute(bytes32 agreementId, AgreementTerms calldata terms, uint256 index) external;

    /// @notice Splits a disputed milestone's amount + bonus: the arbiter alone, or a party with the
    /// other party's `DisputeSplit` signature.
    function resolveDispute(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        Milestone calldata milestone,
        bytes32[] calldata proof,
        uint16 providerShareBps,
        bytes calldata counterpartySignature
    ) external;

    /// @notice Splits a disputed holdback, authorised as in `resolveDispute`.
    function resolveHoldbackDispute(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        uint16 providerShareBps,
        bytes calldata counterpartySignature
    ) external;

    // ---------------------------------------------------------------- amendments (caller + counterparty's `Amendment` signature)

    /// @notice Appends a milestone, funded by the caller in the same transaction. `leaves` are the
    /// current milestone leaves in index order.
    function addMilestone(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        bytes32[] calldata leaves,
        Milestone calldata milestone,
        bytes calldata counterpartySignature
    ) external payable;

    /// @notice Moves an open milestone's deadline later.
    function extendDeadline(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        Milestone calldata milestone,
        bytes32[] calldata proof,
        uint64 newDeadline,
        bytes calldata counterpartySignature
    ) external;

    /// @notice Replaces the oracle set and threshold.
    function rotateOracles(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        address[] calldata oracles,
        uint8 threshold,
        bytes calldata counterpartySignature
    ) external;

    // ---------------------------------------------------------------- credits

    /// @notice Pays the caller's credit in `token` (zero: ETH) to `to`.
    function withdraw(address token, address to) external;

    /// @notice Withdraws the caller's own signature of the attestation `digest`, and nothing more:
    /// this escrow no longer counts that signature, and the attestation still settles with M other
    /// members' unrevoked signatures. No proof of signing is asked: a revocation by an address that
    /// never signed, or is in no oracle set, withdraws nothing anyone counts.
    function revoke(bytes32 digest) external;

    /// @notice Whether `signer` withdrew its signature of `digest`.
    function isRevoked(bytes32 digest, address signer) external view returns (bool);

    // ---------------------------------------------------------------- views

    /// @notice Phase, milestone count and the hash calls must match. Reverts with `UnknownAgreement`
    /// for an id that was never created.
    function agreement(bytes32 agreementId)
        external
        view
        returns (Phase phase, uint256 milestoneCount, bytes32 termsHash);

    /// @notice Status of one milestone. Reverts with `UnknownAgreement` for an id that was never
    /// created, and with `MilestoneIndexOutOfRange` for an index at or beyond the milestone count.
    function milestoneStatus(bytes32 agreementId, uint256 index) external view returns (MilestoneStatus);

    /// @notice Pending holdback of a settled milestone, when it is due, and the dispute/approval flags.
    /// Reverts like `milestoneStatus` for an unknown agreement or an out-of-range index.
    function milestoneExtra(bytes32 agreementId, uint256 index)
        external
        view
        returns (uint256 holdback, uint64 releaseAt, bool clientApproved, bool holdbackDisputed);

    /// @notice What failed payments left withdrawable for `account` in `token`.
    function credits(address token, address account) external view returns (uint256);

    /// @notice The EIP-712 domain separator off-chain signers must use.
    function domainSeparator() external view returns (bytes32);

    /// @notice The EIP-712 digest oracles sign for `attestation`.
    function attestationDigest(Attestation calldata attestation) external view returns (bytes32);

    /// @notice The EIP-712 digest of any struct hash under this escrow's domain.
    function typedDataHash(bytes32 structHash) external view returns (bytes32);

    /// @notice The EIP-712 struct hash of `terms` (an agreement's id is this hash at creation).
    function hashTerms(AgreementTerms calldata terms) external pure returns (bytes32);

    /// @notice The leaf of milestone `index` in the milestone tree.
    function hashMilestone(uint256 index, Milestone calldata milestone) external pure returns (bytes32);

    /// @notice The payout the formula gives for `value` observed at `observedAt`.
    function previewPayout(Milestone calldata milestone, int256 value, uint64 observedAt)
        external
        pure
        returns (Payout memory);
}
