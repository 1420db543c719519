// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAttestationRegistry} from "./interfaces/IAttestationRegistry.sol";
import {IMilestoneEscrow} from "./interfaces/IMilestoneEscrow.sol";
import {AgreementSlot, AgreementSlots} from "./libraries/AgreementSlot.sol";
import {EscrowHashing} from "./libraries/EscrowHashing.sol";
import {
    AgreementTerms,
    Attestation,
    Milestone,
    MilestoneStatus,
    Payout,
    Permit,
    Phase
} from "./libraries/EscrowTypes.sol";
import {PartySignatures} from "./libraries/PartySignatures.sol";
import {PayoutMath} from "./libraries/PayoutMath.sol";
import {SettlementCodec} from "./libraries/SettlementCodec.sol";

/// @title MilestoneEscrow
/// @notice Milestone escrow settled by M-of-N EIP-712 metric attestations (escrow-semantics.md).
/// @dev Storage layout, chosen because storage is what costs:
/// - `_agreements[id]`: ONE slot per agreement: phase, milestone count, an "amended" flag and the
///   2-bit status of up to 112 milestones. Settling a plain milestone rewrites only this slot.
/// - `_amendedTerms[id]`: the current terms hash, written only once terms change; until then the
///   terms hash is the id itself, so creation writes a single slot.
/// - `_extras[id][i]`: one slot, written only for a holdback, a client approval or a holdback dispute.
/// - `credits`: failed payments, withdrawable by their owner.
/// Terms and milestones travel as calldata and are checked against the terms hash (milestones by a
/// Merkle proof), so settlement cost does not grow with the number of agreements and only
/// logarithmically with the number of milestones.
contract MilestoneEscrow is IMilestoneEscrow, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Milestones per agreement: 2 status bits each in the agreement slot's 224 free bits.
    uint256 public constant MAX_MILESTONES = 112;
    /// @notice Oracle set size limit of the spec.
    uint256 public constant MAX_ORACLES = 16;
    /// @notice Gas an ETH payee gets; a payee that needs more (or reverts) is credited instead.
    uint256 public constant PAYEE_GAS = 50_000;

    bytes32 public constant AGREEMENT_TYPEHASH = EscrowHashing.AGREEMENT_TYPEHASH;
    bytes32 public constant MILESTONE_TYPEHASH = EscrowHashing.MILESTONE_TYPEHASH;
    bytes32 public constant ATTESTATION_TYPEHASH = EscrowHashing.ATTESTATION_TYPEHASH;
    bytes32 public constant AMENDMENT_TYPEHASH = EscrowHashing.AMENDMENT_TYPEHASH;
    bytes32 public constant APPROVAL_TYPEHASH = EscrowHashing.APPROVAL_TYPEHASH;
    bytes32 public constant PARTIAL_ACCEPTANCE_TYPEHASH = EscrowHashing.PARTIAL_ACCEPTANCE_TYPEHASH;
    bytes32 public constant DISPUTE_SPLIT_TYPEHASH = EscrowHashing.DISPUTE_SPLIT_TYPEHASH;

    /// @notice Where this escrow's oracles anchor their attestation batches, for auditors.
    IAttestationRegistry public immutable registry;

    struct MilestoneExtra {
        uint192 holdback;
        uint48 releaseAt;
        bool clientApproved;
        bool holdbackDisputed;
    }

    mapping(bytes32 id => AgreementSlot) private _agreements;
    mapping(bytes32 id => bytes32 termsHash) private _amendedTerms;
    mapping(bytes32 id => mapping(uint256 index => MilestoneExtra)) private _extras;
    /// @inheritdoc IMilestoneEscrow
    mapping(address token => mapping(address account => uint256)) public credits;
    /// @dev Withdrawn oracle signatures. Kept here, not in the registry: the settlement reads one
    /// slot of its own instead of calling another account (about 2,900 gas per counted signer).
    mapping(bytes32 digest => mapping(address signer => bool)) private _revoked;

    constructor(IAttestationRegistry registry_) EIP712("AttestPay MilestoneEscrow", "1") {
        registry = registry_;
    }

    // ================================================================ lifecycle

    /// @inheritdoc IMilestoneEscrow
    function create(
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        bytes calldata counterpartySignature
    ) external nonReentrant returns (bytes32 agreementId) {
        (agreementId,) = _create(terms, milestones, counterpartySignature);
    }

    /// @inheritdoc IMilestoneEscrow
    function createAndFund(
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        bytes calldata counterpartySignature
    ) external payable nonReentrant returns (bytes32 agreementId) {
        if (counterpartySignature.length == 0) {
            revert InvalidPartySignature(_counterparty(terms));
        }
        uint256 total;
        (agreementId, total) = _create(terms, milestones, counterpartySignature);
        _fund(agreementId, terms.token, total, msg.sender);
    }

    /// @inheritdoc IMilestoneEscrow
    function consent(bytes32 agreementId, AgreementTerms calldata terms) external nonReentrant {
        AgreementSlot st = _load(agreementId, terms);
        Phase phase = st.phase();
        address awaited = phase == Phase.ProposedByClient
            ? terms.provider
            : phase == Phase.ProposedByProvider ? terms.client : address(0);
        if (awaited == address(0)) revert WrongPhase(agreementId, phase);
        if (msg.sender != awaited) revert Unauthorized(msg.sender);
        _agreements[agreementId] = st.withPhase(Phase.Consented);
        emit AgreementConsented(agreementId, msg.sender);
    }

    /// @inheritdoc IMilestoneEscrow
    function fund(bytes32 agreementId, AgreementTerms calldata terms, Milestone[] calldata milestones)
        external
        payable
        nonReentrant
    {
        _fund(agreementId, terms.token, _fundable(agreementId, terms, milestones), msg.sender);
    }

    /// @inheritdoc IMilestoneEscrow
    // slither-disable-next-line reentrancy-no-eth (nonReentrant, which Slither cannot see through: the transient guard; the permit is the token's own approval, before the funds move)
    function fundWithPermit(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        Permit calldata permit
    ) external nonReentrant {
        uint256 total = _fundable(agreementId, terms, milestones);
        _permit(terms.token, msg.sender, total, permit);
        _fund(agreementId, terms.token, total, msg.sender);
    }

    /// @inheritdoc IMilestoneEscrow
    // slither-disable-next-line reentrancy-no-eth (nonReentrant, which Slither cannot see through: the transient guard; the permit is the token's own approval, before the funds move)
    function createAndFundFor(
        AgreementTerms calldata terms,
        Milestone[] calldata milestones,
        bytes calldata clientSignature,
        bytes calldata providerSignature,
        Permit calldata permit
    ) external nonReentrant returns (bytes32 agreementId) {
        uint256 total;
        (agreementId, total) = _register(terms, milestones);
        if (msg.sender != terms.client) _requireSignature(terms.client, agreementId, clientSignature);
        if (msg.sender != terms.provider) _requireSignature(terms.provider, agreementId, providerSignature);
        _agreements[agreementId] = AgreementSlots.create(Phase.Consented, milestones.length);
        emit AgreementCreated(agreementId, terms.client, terms.provider, terms, milestones, Phase.Consented);
        _permit(terms.token, terms.client, total, permit);
        _fund(agreementId, terms.token, total, terms.client);
    }

    /// @inheritdoc IMilestoneEscrow
    function cancel(bytes32 agreementId, AgreementTerms calldata terms) external nonReentrant {
        AgreementSlot st = _load(agreementId, terms);
        Phase phase = st.phase();
        if (phase == Phase.Active || phase == Phase.Cancelled) revert WrongPhase(agreementId, phase);
        _requireParty(terms);
        _agreements[agreementId] = st.withPhase(Phase.Cancelled);
        emit AgreementCancelled(agreementId, msg.sender);
    }

    // ================================================================ settlement

    /// @inheritdoc IMilestoneEscrow
    function settleMilestonePacked(bytes calldata settlement) external nonReentrant {
        _settle(settlement, settlement[:0], settlement[:0]);
    }

    /// @inheritdoc IMilestoneEscrow
    function settleWithConsents(
        bytes calldata settlement,
        bytes calldata clientApproval,
        bytes calldata providerAcceptance
    ) external nonReentrant {
        _settle(settlement, clientApproval, providerAcceptance);
    }

    /// @inheritdoc IMilestoneEscrow
    function approveMilestone(bytes32 agreementId, AgreementTerms calldata terms, uint256 index) external nonReentrant {
        AgreementSlot st = _loadActive(agreementId, terms);
        if (msg.sender != terms.client) revert Unauthorized(msg.sender);
        _requireStatus(st, index, MilestoneStatus.Open);
        _extras[agreementId][index].clientApproved = true;
        emit MilestoneApproved(agreementId, index, false);
    }

    /// @inheritdoc IMilestoneEscrow
    function reclaim(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        Milestone calldata milestone,
        bytes32[] calldata proof
    ) external nonReentrant {
        AgreementSlot st = _loadActive(agreementId, terms);
        if (msg.sender != terms.client) revert Unauthorized(msg.sender);
        _requireMilestone(terms, index, milestone, proof);
        _requireStatus(st, index, MilestoneStatus.Open);
        uint256 availableAfter = uint256(milestone.deadline) + terms.cureWindow;
        if (block.timestamp <= availableAfter) revert ReclaimTooEarly(availableAfter);

        uint256 amount = uint256(milestone.amount) + milestone.bonus;
        _setStatus(agreementId, st, index, MilestoneStatus.Closed);
        emit MilestoneReclaimed(agreementId, index, amount);
        _pay(terms.token, terms.client, amount);
    }

    /// @inheritdoc IMilestoneEscrow
    function releaseHoldback(bytes32 agreementId, AgreementTerms calldata terms, uint256 index) external nonReentrant {
        _loadActive(agreementId, terms);
        MilestoneExtra memory extra = _extras[agreementId][index];
        if (extra.holdback == 0) revert NoHoldback(index);
        if (extra.holdbackDisputed) revert HoldbackDisputed(index);
        if (block.timestamp < extra.releaseAt) revert HoldbackNotDue(uint64(extra.releaseAt));

        delete _extras[agreementId][index];
        emit HoldbackReleased(agreementId, index, extra.holdback);
        _pay(terms.token, terms.provider, extra.holdback);
    }

    // ================================================================ disputes

    /// @inheritdoc IMilestoneEscrow
    function openDispute(bytes32 agreementId, AgreementTerms calldata terms, uint256 index) external nonReentrant {
        AgreementSlot st = _loadActive(agreementId, terms);
        _requireParty(terms);
        _requireIndex(st, index);
        if (st.status(index) == MilestoneStatus.Open) {
            _setStatus(agreementId, st, index, MilestoneStatus.Disputed);
            emit DisputeOpened(agreementId, index, msg.sender, false);
            return;
        }
        MilestoneExtra storage extra = _extras[agreementId][index];
        if (extra.holdback == 0 || extra.holdbackDisputed || block.timestamp >= extra.releaseAt) {
            revert NothingToDispute(index);
        }
        extra.holdbackDisputed = true;
        emit DisputeOpened(agreementId, index, msg.sender, true);
    }

    /// @inheritdoc IMilestoneEscrow
    function resolveDispute(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        Milestone calldata milestone,
        bytes32[] calldata proof,
        uint16 providerShareBps,
        bytes calldata counterpartySignature
    ) external nonReentrant {
        AgreementSlot st = _loadActive(agreementId, terms);
        _requireMilestone(terms, index, milestone, proof);
        _requireStatus(st, index, MilestoneStatus.Disputed);
        _requireSplitConsent(agreementId, terms, index, false, providerShareBps, counterpartySignature);

        _setStatus(agreementId, st, index, MilestoneStatus.Closed);
        _split(agreementId, terms, index, false, providerShareBps, uint256(milestone.amount) + milestone.bonus);
    }

    /// @inheritdoc IMilestoneEscrow
    function resolveHoldbackDispute(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        uint16 providerShareBps,
        bytes calldata counterpartySignature
    ) external nonReentrant {
        _loadActive(agreementId, terms);
        MilestoneExtra memory extra = _extras[agreementId][index];
        if (!extra.holdbackDisputed) revert NotDisputed(index);
        _requireSplitConsent(agreementId, terms, index, true, providerShareBps, counterpartySignature);

        delete _extras[agreementId][index];
        _split(agreementId, terms, index, true, providerShareBps, extra.holdback);
    }

    // ================================================================ amendments

    /// @inheritdoc IMilestoneEscrow
    function addMilestone(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        bytes32[] calldata leaves,
        Milestone calldata milestone,
        bytes calldata counterpartySignature
    ) external payable nonReentrant {
        AgreementSlot st = _loadActive(agreementId, terms);
        uint256 index = st.milestoneCount();
        if (leaves.length != index) revert InvalidMilestoneCount(leaves.length);
        if (index + 1 > MAX_MILESTONES) revert InvalidMilestoneCount(index + 1);
        _validateMilestone(index, milestone);

        bytes32 oldRoot = EscrowHashing.merkleRoot(leaves); // copies the calldata leaves to memory
        if (oldRoot != terms.milestonesRoot) revert MilestonesRootMismatch(terms.milestonesRoot, oldRoot);
        bytes32[] memory next = new bytes32[](index + 1);
        for (uint256 i = 0; i < index; ++i) {
            next[i] = leaves[i];
        }
        next[index] = EscrowHashing.hashMilestone(index, milestone);
        bytes32 newRoot = EscrowHashing.merkleRoot(next);

        _amend(agreementId, terms, _oraclesHash(terms.oracles), terms.threshold, newRoot, counterpartySignature);
        _agreements[agreementId] = _agreements[agreementId].withMilestoneCount(index + 1);
        emit MilestoneAdded(agreementId, index, milestone, msg.sender);
        _collect(terms.token, msg.sender, uint256(milestone.amount) + milestone.bonus);
    }

    /// @inheritdoc IMilestoneEscrow
    function extendDeadline(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        uint256 index,
        Milestone calldata milestone,
        bytes32[] calldata proof,
        uint64 newDeadline,
        bytes calldata counterpartySignature
    ) external nonReentrant {
        AgreementSlot st = _loadActive(agreementId, terms);
        _requireMilestone(terms, index, milestone, proof);
        _requireStatus(st, index, MilestoneStatus.Open);
        if (newDeadline <= milestone.deadline) revert DeadlineNotExtended(milestone.deadline, newDeadline);

        Milestone memory changed = milestone;
        changed.deadline = newDeadline;
        bytes32 newRoot = MerkleProof.processProofCalldata(proof, EscrowHashing.hashMilestoneMemory(index, changed));
        _amend(agreementId, terms, _oraclesHash(terms.oracles), terms.threshold, newRoot, counterpartySignature);
        emit DeadlineExtended(agreementId, index, newDeadline);
    }

    /// @inheritdoc IMilestoneEscrow
    function rotateOracles(
        bytes32 agreementId,
        AgreementTerms calldata terms,
        address[] calldata oracles,
        uint8 threshold,
        bytes calldata counterpartySignature
    ) external nonReentrant {
        _loadActive(agreementId, terms);
        _validateOracles(oracles, threshold);
        _amend(agreementId, terms, _oraclesHash(oracles), threshold, terms.milestonesRoot, counterpartySignature);
        emit OraclesRotated(agreementId, oracles, threshold);
    }

    // ================================================================ credits

    /// @inheritdoc IMilestoneEscrow
    function withdraw(address token, address to) external nonReentrant {
        uint256 amount = credits[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw(token, msg.sender);
        if (to == address(0)) revert WithdrawFailed(to);
        credits[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, to, amount);
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert WithdrawFailed(to);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    /// @inheritdoc IMilestoneEscrow
    function revoke(bytes32 digest) external {
        if (_revoked[digest][msg.sender]) revert AlreadyRevoked(digest, msg.sender);
        _revoked[digest][msg.sender] = true;
        emit SignatureRevoked(digest, msg.sender);
    }

    // ================================================================ views

    /// @inheritdoc IMilestoneEscrow
    function agreement(bytes32 agreementId)
        external
        view
        returns (Phase phase, uint256 milestoneCount, bytes32 termsHash)
    {
        AgreementSlot st = _existing(agreementId);
        return (st.phase(), st.milestoneCount(), _currentTermsHash(agreementId, st));
    }

    /// @inheritdoc IMilestoneEscrow
    function milestoneStatus(bytes32 agreementId, uint256 index) external view returns (MilestoneStatus) {
        AgreementSlot st = _existing(agreementId);
        _requireIndex(st, index);
        return st.status(index);
    }

    /// @inheritdoc IMilestoneEscrow
    function isRevoked(bytes32 digest, address signer) external view returns (bool) {
        return _revoked[digest][signer];
    }

    /// @inheritdoc IMilestoneEscrow
    function milestoneExtra(bytes32 agreementId, uint256 index)
        external
        view
        returns (uint256 holdback, uint64 releaseAt, bool clientApproved, bool holdbackDisputed)
    {
        _requireIndex(_existing(agreementId), index);
        MilestoneExtra memory e = _extras[agreementId][index];
        return (e.holdback, uint64(e.releaseAt), e.clientApproved, e.holdbackDisputed);
    }

    /// @inheritdoc IMilestoneEscrow
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IMilestoneEscrow
    function attestationDigest(Attestation calldata attestation) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowHashing.hashAttestation(attestation));
    }

    /// @inheritdoc IMilestoneEscrow
    function typedDataHash(bytes32 structHash) external view returns (bytes32) {
        return _hashTypedDataV4(structHash);
    }

    /// @inheritdoc IMilestoneEscrow
    function hashTerms(AgreementTerms calldata terms) external pure returns (bytes32) {
        return EscrowHashing.hashTerms(terms);
    }

    /// @inheritdoc IMilestoneEscrow
    function hashMilestone(uint256 index, Milestone calldata milestone) external pure returns (bytes32) {
        return EscrowHashing.hashMilestone(index, milestone);
    }

    /// @inheritdoc IMilestoneEscrow
    function previewPayout(Milestone calldata milestone, int256 value, uint64 observedAt)
        external
        pure
        returns (Payout memory)
    {
        return PayoutMath.compute(milestone, value, observedAt);
    }

    // ================================================================ internals: agreements

    function _create(AgreementTerms calldata terms, Milestone[] calldata milestones, bytes calldata signature)
        private
        returns (bytes32 id, uint256 total)
    {
        (id, total) = _register(terms, milestones);
        address counterparty = _counterparty(terms);
        Phase phase;
        if (signature.length == 0) {
            phase = msg.sender == terms.client ? Phase.ProposedByClient : Phase.ProposedByProvider;
        } else {
            _requireSignature(counterparty, id, signature);
            phase = Phase.Consented;
        }
        _agreements[id] = AgreementSlots.create(phase, milestones.length);
        emit AgreementCreated(id, terms.client, terms.provider, terms, milestones, phase);
    }

    /// @dev Checks new terms and milestones; returns the new agreement's id and funding total.
    function _register(AgreementTerms calldata terms, Milestone[] calldata milestones)
        private
        view
        returns (bytes32 id, uint256 total)
    {
        if (terms.client == address(0) || terms.provider == address(0) || terms.client == terms.provider) {
            revert InvalidParties(terms.client, terms.provider);
        }
        if (terms.arbiter == terms.client || terms.arbiter == terms.provider) revert ArbiterIsParty(terms.arbiter);
        _validateOracles(terms.oracles, terms.threshold);
        if (milestones.length == 0 || milestones.length > MAX_MILESTONES) {
            revert InvalidMilestoneCount(milestones.length);
        }
        bytes32 root;
        (root, total) = _milestonesRoot(milestones, true);
        if (root != terms.milestonesRoot) revert MilestonesRootMismatch(terms.milestonesRoot, root);

        id = EscrowHashing.hashTerms(terms);
        if (_agreements[id].phase() != Phase.None) revert AgreementExists(id);
    }

    /// @dev The funding total of a consented agreement, once `milestones` match its terms.
    function _fundable(bytes32 id, AgreementTerms calldata terms, Milestone[] calldata milestones)
        private
        view
        returns (uint256 total)
    {
        AgreementSlot st = _load(id, terms);
        if (st.phase() != Phase.Consented) revert WrongPhase(id, st.phase());
        bytes32 root;
        (root, total) = _milestonesRoot(milestones, false);
        if (root != terms.milestonesRoot) revert MilestonesRootMismatch(terms.milestonesRoot, root);
    }

    function _fund(bytes32 id, address token, uint256 total, address funder) private {
        _agreements[id] = _agreements[id].withPhase(Phase.Active);
        emit AgreementFunded(id, funder, total);
        _collect(token, funder, total);
    }

    /// @dev Stores the terms with the changed fields and revision + 1, once the counterparty signed
    /// the move from the current terms hash to the new one.
    function _amend(
        bytes32 id,
        AgreementTerms calldata terms,
        bytes32 oraclesHash,
        uint8 threshold,
        bytes32 root,
        bytes calldata signature
    ) private {
        bytes32 fromHash = EscrowHashing.hashTerms(terms);
        uint32 revision = terms.revision + 1;
        bytes32 toHash = EscrowHashing.hashTerms(terms, oraclesHash, threshold, revision, root);
        _requireSignature(_counterparty(terms), EscrowHashing.hashAmendment(id, fromHash, toHash), signature);
        _agreements[id] = _agreements[id].withAmended();
        _amendedTerms[id] = toHash;
        emit TermsAmended(id, revision, toHash);
    }

    function _existing(bytes32 id) private view returns (AgreementSlot st) {
        st = _agreements[id];
        if (st.phase() == Phase.None) revert UnknownAgreement(id);
    }

    function _load(bytes32 id, AgreementTerms calldata terms) private view returns (AgreementSlot st) {
        st = _existing(id);
        bytes32 expected = _currentTermsHash(id, st);
        bytes32 actual = EscrowHashing.hashTerms(terms);
        if (actual != expected) revert TermsMismatch(expected, actual);
    }

    function _loadActive(bytes32 id, AgreementTerms calldata terms) private view returns (AgreementSlot st) {
        st = _load(id, terms);
        if (st.phase() != Phase.Active) revert WrongPhase(id, st.phase());
    }

    function _currentTermsHash(bytes32 id, AgreementSlot st) private view returns (bytes32) {
        return st.amended() ? _amendedTerms[id] : id;
    }

    // ================================================================ internals: milestones

    /// @dev `packed` is read in place (`SettlementCodec`): `at` is its calldata offset, and each
    /// step below reads what it needs from there.
    function _settle(bytes calldata packed, bytes calldata clientApproval, bytes calldata providerAcceptance) private {
        uint256 at = SettlementCodec.open(packed);
        Milestone memory milestone = SettlementCodec.decodeMilestone(at);
        (AgreementSlot st, bytes32 digest) = _verifySettlement(at, milestone);
        _requireSettleConsents(at, milestone, digest, clientApproval, providerAcceptance);
        _recordSettlement(at, st, milestone, digest);
    }

    /// @dev Terms, milestone, status, time window and M-of-N unrevoked signatures; returns the
    /// agreement's slot and the attestation's digest.
    function _verifySettlement(uint256 at, Milestone memory milestone)
        private
        view
        returns (AgreementSlot st, bytes32 digest)
    {
        bytes32 id = SettlementCodec.agreementId(at);
        st = _existing(id);
        bytes32 termsHash = SettlementCodec.termsHash(at);
        bytes32 expected = _currentTermsHash(id, st);
        if (termsHash != expected) revert TermsMismatch(expected, termsHash);
        if (st.phase() != Phase.Active) revert WrongPhase(id, st.phase());
        uint256 index = SettlementCodec.milestoneIndex(at);
        bytes32 leaf = EscrowHashing.hashMilestoneMemory(index, milestone);
        if (!MerkleProof.verifyCalldata(SettlementCodec.proof(at), SettlementCodec.milestonesRoot(at), leaf)) {
            revert InvalidMilestoneProof(index);
        }
        _requireStatus(st, index, MilestoneStatus.Open);
        uint64 observedAt = SettlementCodec.observedAt(at);
        if (observedAt > block.timestamp) revert AttestationFromFuture(observedAt);
        uint64 expiresAt = SettlementCodec.expiresAt(at);
        if (block.timestamp > expiresAt) revert AttestationExpired(expiresAt);
        digest = _hashTypedDataV4(SettlementCodec.attestationHash(at, index, milestone.metricId));
        _requireOracleSignatures(digest, at);
    }

    /// @dev The client's approval for acceptance-type milestones, the provider's acceptance below
    /// target; each is an event, so an auditor sees consents given by signature too.
    function _requireSettleConsents(
        uint256 at,
        Milestone memory milestone,
        bytes32 digest,
        bytes calldata clientApproval,
        bytes calldata providerAcceptance
    ) private {
        bytes32 id = SettlementCodec.agreementId(at);
        uint256 index = SettlementCodec.milestoneIndex(at);
        if (milestone.requiresClientApproval && !_extras[id][index].clientApproved) {
            if (
                clientApproval.length == 0
                    || !_signedBy(SettlementCodec.client(at), EscrowHashing.hashApproval(id, index), clientApproval)
            ) revert ClientApprovalMissing(index);
            emit MilestoneApproved(id, index, true);
        }
        int256 value = SettlementCodec.value(at);
        if (!PayoutMath.reaches(value, milestone.target, milestone.higherIsBetter)) {
            address provider = SettlementCodec.provider(at);
            bool bySignature = msg.sender != provider;
            if (bySignature) {
                bytes32 acceptance = EscrowHashing.hashPartialAcceptance(id, index, value, digest);
                if (providerAcceptance.length == 0 || !_signedBy(provider, acceptance, providerAcceptance)) {
                    revert PartialResultNotAccepted(value, milestone.target);
                }
            }
            emit PartialResultAccepted(id, index, value, digest, bySignature);
        }
    }

    function _recordSettlement(uint256 at, AgreementSlot st, Milestone memory milestone, bytes32 digest) private {
        int256 value = SettlementCodec.value(at);
        (uint256 paidNow, uint256 holdback, uint256 refund) =
            PayoutMath.amounts(milestone, value, SettlementCodec.observedAt(at));
        bytes32 id = SettlementCodec.agreementId(at);
        uint256 index = SettlementCodec.milestoneIndex(at);
        _setStatus(id, st, index, MilestoneStatus.Settled);
        if (holdback > 0) {
            _extras[id][index] = MilestoneExtra({
                holdback: uint192(holdback),
                releaseAt: uint48(block.timestamp + milestone.holdbackPeriod),
                clientApproved: false,
                holdbackDisputed: false
            });
        } else if (milestone.requiresClientApproval) {
            delete _extras[id][index];
        }
        _emitSettled(at, digest, paidNow, holdback, refund);
        address token = SettlementCodec.token(at);
        _pay(token, SettlementCodec.provider(at), paidNow);
        _pay(token, SettlementCodec.client(at), refund);
    }

    function _emitSettled(uint256 at, bytes32 digest, uint256 paidNow, uint256 holdback, uint256 refund) private {
        emit MilestoneSettled(
            SettlementCodec.agreementId(at),
            SettlementCodec.milestoneIndex(at),
            digest,
            SettlementCodec.value(at),
            SettlementCodec.observedAt(at),
            SettlementCodec.evidenceHash(at),
            paidNow,
            holdback,
            refund
        );
    }

    function _split(
        bytes32 id,
        AgreementTerms calldata terms,
        uint256 index,
        bool holdback,
        uint16 providerShareBps,
        uint256 amount
    ) private {
        uint256 toProvider = amount * providerShareBps / PayoutMath.BPS;
        uint256 toClient = amount - toProvider;
        emit DisputeResolved(id, index, holdback, providerShareBps, toProvider, toClient);
        _pay(terms.token, terms.provider, toProvider);
        _pay(terms.token, terms.client, toClient);
    }

    function _requireSplitConsent(
        bytes32 id,
        AgreementTerms calldata terms,
        uint256 index,
        bool holdback,
        uint16 providerShareBps,
        bytes calldata signature
    ) private view {
        if (providerShareBps > PayoutMath.BPS) revert BpsOutOfRange(index, providerShareBps);
        if (terms.arbiter != address(0) && msg.sender == terms.arbiter) return;
        _requireParty(terms);
        _requireSignature(
            _counterparty(terms), EscrowHashing.hashDisputeSplit(id, index, holdback, providerShareBps), signature
        );
    }

    function _requireMilestone(
        AgreementTerms calldata terms,
        uint256 index,
        Milestone calldata milestone,
        bytes32[] calldata proof
    ) private pure {
        if (!MerkleProof.verifyCalldata(proof, terms.milestonesRoot, EscrowHashing.hashMilestone(index, milestone))) {
            revert InvalidMilestoneProof(index);
        }
    }

    /// @dev Validates every milestone (when `validate`), and returns the tree root and the funding total.
    function _milestonesRoot(Milestone[] calldata milestones, bool validate)
        private
        view
        returns (bytes32 root, uint256 total)
    {
        uint256 n = milestones.length;
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            if (validate) _validateMilestone(i, milestones[i]);
            leaves[i] = EscrowHashing.hashMilestone(i, milestones[i]);
            total += uint256(milestones[i].amount) + milestones[i].bonus;
        }
        root = n == 0 ? bytes32(0) : EscrowHashing.merkleRoot(leaves);
    }

    function _validateMilestone(uint256 index, Milestone calldata m) private view {
        if (m.amount == 0) revert ZeroAmount(index);
        uint256 maxBps = _max(_max(m.floorPayoutBps, m.latePenaltyBpsPerDay), _max(m.maxLatePenaltyBps, m.holdbackBps));
        if (maxBps > PayoutMath.BPS) revert BpsOutOfRange(index, maxBps);
        bool up = m.higherIsBetter;
        if (!PayoutMath.reaches(m.target, m.floor, up) || !PayoutMath.reaches(m.stretch, m.target, up)) {
            revert ThresholdsMisordered(index);
        }
        if (m.bonus > 0 && m.stretch == m.target) revert BonusWithoutStretch(index);
        if (m.deadline <= block.timestamp) revert DeadlineInPast(index, m.deadline);
    }

    function _validateOracles(address[] calldata oracles, uint8 threshold) private pure {
        uint256 n = oracles.length;
        if (n == 0 || n > MAX_ORACLES || threshold == 0 || threshold > n) revert InvalidOracleSet(n, threshold);
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            if (oracles[i] <= previous) revert OraclesNotAscending(i);
            previous = oracles[i];
        }
    }

    function _requireIndex(AgreementSlot st, uint256 index) private pure {
        if (index >= st.milestoneCount()) revert MilestoneIndexOutOfRange(index, st.milestoneCount());
    }

    function _requireStatus(AgreementSlot st, uint256 index, MilestoneStatus expected) private pure {
        _requireIndex(st, index);
        MilestoneStatus status = st.status(index);
        if (status != expected) revert WrongMilestoneStatus(index, status);
    }

    function _setStatus(bytes32 id, AgreementSlot st, uint256 index, MilestoneStatus status) private {
        _agreements[id] = st.withStatus(index, status);
    }

    // ================================================================ internals: signatures

    /// @dev `signatures` packs 65-byte (r, s, v) signatures by signers in strictly ascending order,
    /// so distinctness is one comparison and membership one forward walk of the sorted oracle set.
    /// Each counted signer must not have revoked its signature (`revoke`); nobody else's revocation
    /// is read, so no party can block a settlement it owes.
    function _requireOracleSignatures(bytes32 digest, uint256 at) private view {
        bytes calldata signatures = SettlementCodec.signatures(at);
        uint256 count = signatures.length / 65;
        uint8 threshold = SettlementCodec.threshold(at);
        if (count < threshold) revert NotEnoughSignatures(count, threshold);
        uint256 n = SettlementCodec.oracleCount(at);
        address previous = address(0);
        uint256 member = 0;
        for (uint256 i = 0; i < count; ++i) {
            address signer = _recover(digest, signatures, i * 65);
            if (signer == address(0)) revert InvalidSignature(i);
            if (signer <= previous) revert SignersNotAscending(i);
            while (member < n && SettlementCodec.oracle(at, member) < signer) ++member;
            if (member == n || SettlementCodec.oracle(at, member) != signer) revert SignerNotInOracleSet(signer);
            if (_revoked[digest][signer]) revert RevokedSignature(signer);
            previous = signer;
        }
    }

    /// @dev The signer of the 65-byte (r, s, v) signature at `offset`, through the ecrecover
    /// precompile directly; zero for a high-s signature, a v other than 27 or 28, or no recovery
    /// (the rules of OpenZeppelin's ECDSA.tryRecover, without its decoding).
    function _recover(bytes32 digest, bytes calldata signatures, uint256 offset) private view returns (address signer) {
        assembly ("memory-safe") {
            let at := add(signatures.offset, offset)
            let s := calldataload(add(at, 0x20))
            let v := byte(0, calldataload(add(at, 0x40)))
            // s <= secp256k1n / 2 (EIP-2), v in {27, 28}
            if and(
                lt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1),
                or(eq(v, 27), eq(v, 28))
            ) {
                let p := mload(0x40)
                mstore(p, digest)
                mstore(add(p, 0x20), v)
                mstore(add(p, 0x40), calldataload(at))
                mstore(add(p, 0x60), s)
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, p, 0x80, 0x00, 0x20))
                signer := mload(0x00)
            }
        }
    }

    /// @dev The party-signature rule (`PartySignatures`) over this escrow's EIP-712 domain.
    function _signedBy(address signer, bytes32 structHash, bytes memory signature) private view returns (bool) {
        return PartySignatures.isValid(signer, _hashTypedDataV4(structHash), signature);
    }

    function _requireSignature(address signer, bytes32 structHash, bytes calldata signature) private view {
        if (!_signedBy(signer, structHash, signature)) revert InvalidPartySignature(signer);
    }

    function _requireParty(AgreementTerms calldata terms) private view {
        if (msg.sender != terms.client && msg.sender != terms.provider) revert Unauthorized(msg.sender);
    }

    /// @dev The party that did not send the transaction; reverts for anyone else.
    function _counterparty(AgreementTerms calldata terms) private view returns (address) {
        if (msg.sender == terms.client) return terms.provider;
        if (msg.sender == terms.provider) return terms.client;
        revert Unauthorized(msg.sender);
    }

    // ================================================================ internals: money

    /// @dev Takes `amount` from `from` (the caller, or a client that signed a permit): exact
    /// msg.value for ETH; for a token, what actually arrived must equal what was asked, which
    /// rejects fee-on-transfer tokens.
    // slither-disable-next-line msg-value-in-nonpayable (payable createAndFund, fund, addMilestone; nonpayable fundWithPermit, createAndFundFor, where msg.value is 0; Slither loses the path through the transient reentrancy guard)
    function _collect(address token, address from, uint256 amount) private {
        if (token == address(0)) {
            if (msg.value != amount) revert WrongEtherAmount(amount, msg.value);
            return;
        }
        if (msg.value != 0) revert WrongEtherAmount(0, msg.value);
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(address(this));
        // slither-disable-next-line arbitrary-send-erc20 (from is the caller, or a client whose signature over these exact terms the escrow checked, with its own permit for the total)
        erc20.safeTransferFrom(from, address(this), amount);
        uint256 received = erc20.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(token, amount, received);
    }

    /// @dev Uses `owner`'s EIP-2612 permit for `amount` of `token`. A permit already used (someone
    /// submitted it first) is fine while the allowance it gave still covers `amount`.
    function _permit(address token, address owner, uint256 amount, Permit calldata p) private {
        if (token == address(0)) revert PermitWithoutToken();
        try IERC20Permit(token).permit(owner, address(this), amount, p.deadline, p.v, p.r, p.s) {}
        catch {
            if (IERC20(token).allowance(owner, address(this)) < amount) revert PermitRefused(token, owner, amount);
        }
    }

    /// @dev Pays `to`, or credits it when the payment fails, so one payee never blocks another.
    function _pay(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            uint256 gasLimit = PAYEE_GAS;
            assembly ("memory-safe") {
                ok := call(gasLimit, to, amount, 0, 0, 0, 0)
            }
        } else {
            ok = IERC20(token).trySafeTransfer(to, amount);
        }
        if (!ok) {
            credits[token][to] += amount;
            emit Credited(token, to, amount);
        }
    }

    // ================================================================ internals: small helpers

    function _oraclesHash(address[] calldata oracles) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(oracles));
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a : b;
    }
}
