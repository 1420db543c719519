// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MilestoneEscrow} from "../../MilestoneEscrow.sol";
import {IMilestoneEscrow} from "../../interfaces/IMilestoneEscrow.sol";
import {AgreementTerms, Attestation, Milestone, MilestoneStatus} from "../../libraries/EscrowTypes.sol";
import {MilestoneTree} from "../utils/MilestoneTree.sol";
import {TestBase, Vm} from "../utils/Vm.sol";
import {BlocklistToken} from "../utils/tokens/WeirdTokens.sol";
import {packSettlement} from "../utils/SettlementPacking.sol";

/// @notice Drives random agreement lifecycles through the escrow and keeps ghost totals of what the
/// escrow owes, so the invariants can compare them with the chain. Every action it takes is valid;
/// an unexpected revert fails the run (fail_on_revert).
contract EscrowHandler is TestBase {
    struct Deal {
        bytes32 id;
        address token;
        bytes32 salt;
        uint8 count;
    }

    MilestoneEscrow public immutable escrow;
    BlocklistToken public immutable token;
    uint256 internal immutable clientKey;
    uint256 internal immutable providerKey;
    uint256 internal immutable oracleKey;
    address public immutable client;
    address public immutable provider;
    address public immutable arbiter;
    address internal immutable oracle;

    Deal[] public deals;
    mapping(uint256 deal => Milestone[]) internal _milestones;
    mapping(uint256 deal => mapping(uint256 index => MilestoneStatus)) public lastStatus;

    // ghost totals, per token (address(0): ether)
    mapping(address token => uint256) public ghostOwed; // unsettled amount+bonus, holdbacks, credits
    mapping(address token => mapping(address account => uint256)) public ghostCredits;
    mapping(uint256 deal => mapping(uint256 index => uint256)) public settlements;
    address[2] public tokens;
    bool public statusWentBack;
    bool public settlementBroken;
    bool public creditFellWithoutWithdraw;
    uint256 public calls;

    constructor(MilestoneEscrow escrow_, uint256 clientKey_, uint256 providerKey_, uint256 oracleKey_) {
        escrow = escrow_;
        token = new BlocklistToken();
        (clientKey, providerKey, oracleKey) = (clientKey_, providerKey_, oracleKey_);
        (client, provider, oracle) = (vm.addr(clientKey_), vm.addr(providerKey_), vm.addr(oracleKey_));
        arbiter = address(0xA4B);
        tokens = [address(0), address(token)];
        token.mint(client, 1e40);
        vm.deal(client, 1e40);
        vm.prank(client);
        token.approve(address(escrow_), type(uint256).max);
    }

    // ------------------------------------------------------------ actions

    function create(uint256 seed) external {
        uint256 n = bound(seed, 1, 3);
        Deal memory d =
            Deal(bytes32(0), seed % 2 == 0 ? address(0) : address(token), bytes32(deals.length + 1), uint8(n));
        uint256 k = deals.length;
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            Milestone memory m = _randomMilestone(uint256(keccak256(abi.encode(seed, i))));
            _milestones[k].push(m);
            total += uint256(m.amount) + m.bonus;
        }
        AgreementTerms memory t = _terms(d);
        bytes memory consent = _sign(providerKey, escrow.typedDataHash(escrow.hashTerms(t)));
        vm.prank(client);
        d.id = escrow.createAndFund{value: d.token == address(0) ? total : 0}(t, _milestones[k], consent);
        deals.push(d);
        ghostOwed[d.token] += total;
        _afterAction(address(0));
    }

    function settle(uint256 dealSeed, uint256 indexSeed, uint256 valueSeed, uint256 lateSeed) external {
        (bool found, uint256 k, uint256 i) = _pick(dealSeed, indexSeed, MilestoneStatus.Open);
        if (!found) return;
        Deal memory d = deals[k];
        Milestone memory m = _milestones[k][i];
        vm.warp(block.timestamp + bound(lateSeed, 0, 40 days));
        if (m.requiresClientApproval) {
            vm.prank(client);
            escrow.approveMilestone(d.id, _terms(d), i);
        }
        Attestation memory a = Attestation(
            d.id,
            i,
            m.metricId,
            int256(bound(valueSeed, 7000, 10_000)),
            uint64(block.timestamp),
            bytes32(valueSeed),
            uint64(block.timestamp + 1 days)
        );
        bytes memory sig = _sign(oracleKey, escrow.attestationDigest(a));
        bytes32[] memory proof = _proof(k, i);
        AgreementTerms memory t = _terms(d);
        vm.recordLogs();
        vm.prank(provider); // the provider may settle at any value
        escrow.settleMilestonePacked(packSettlement(t, m, proof, a, sig));
        _recordSettlement(d.token, m);
        ++settlements[k][i];
        _afterAction(address(0));

        // a second settlement of the same milestone must fail
        vm.prank(provider);
        try escrow.settleMilestonePacked(packSettlement(t, m, proof, a, sig)) {
            ++settlements[k][i];
        } catch {}
    }

    function reclaim(uint256 dealSeed, uint256 indexSeed) external {
        (bool found, uint256 k, uint256 i) = _pick(dealSeed, indexSeed, MilestoneStatus.Open);
        if (!found) return;
        Deal memory d = deals[k];
        Milestone memory m = _milestones[k][i];
        uint256 opensAfter = uint256(m.deadline) + 3 days;
        if (block.timestamp <= opensAfter) vm.warp(opensAfter + 1);
        vm.prank(client);
        escrow.reclaim(d.id, _terms(d), i, m, _proof(k, i));
        ghostOwed[d.token] -= uint256(m.amount) + m.bonus;
        _afterAction(address(0));
    }

    function dispute(uint256 dealSeed, uint256 indexSeed, uint16 shareBps) external {
        (bool found, uint256 k, uint256 i) = _pick(dealSeed, indexSeed, MilestoneStatus.Open);
        if (!found) return;
        Deal memory d = deals[k];
        Milestone memory m = _milestones[k][i];
        AgreementTerms memory t = _terms(d);
        vm.prank(client);
        escrow.openDispute(d.id, t, i);
        _afterAction(address(0));
        vm.prank(arbiter);
        escrow.resolveDispute(d.id, t, i, m, _proof(k, i), uint16(bound(shareBps, 0, 10_000)), "");
        ghostOwed[d.token] -= uint256(m.amount) + m.bonus;
        _afterAction(address(0));
    }

    function releaseHoldback(uint256 dealSeed, uint256 indexSeed) external {
        (bool found, uint256 k, uint256 i) = _pick(dealSeed, indexSeed, MilestoneStatus.Settled);
        if (!found) return;
        (uint256 held, uint64 releaseAt,,) = escrow.milestoneExtra(deals[k].id, i);
        if (held == 0) return;
        if (block.timestamp < releaseAt) vm.warp(releaseAt);
        escrow.releaseHoldback(deals[k].id, _terms(deals[k]), i);
        ghostOwed[deals[k].token] -= held;
        _afterAction(address(0));
    }

    function blockProvider(bool blocked) external {
        token.setBlocked(provider, blocked);
    }

    function withdraw(bool ether_, bool byClient) external {
        address t = ether_ ? address(0) : address(token);
        address account = byClient ? client : provider;
        uint256 credit = escrow.credits(t, account);
        if (credit == 0) return;
        vm.prank(account);
        escrow.withdraw(t, address(0xBEEF));
        ghostOwed[t] -= credit;
        _afterAction(account);
    }

    // ------------------------------------------------------------ bookkeeping

    function dealCount() external view returns (uint256) {
        return deals.length;
    }

    function milestoneCount(uint256 k) external view returns (uint256) {
        return _milestones[k].length;
    }

    /// @dev Settlement bookkeeping from the event itself: conservation, then what stays owed.
    function _recordSettlement(address t, Milestone memory m) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 j = 0; j < logs.length; ++j) {
            if (logs[j].topics[0] != IMilestoneEscrow.MilestoneSettled.selector) continue;
            (,,,, uint256 paidNow, uint256 holdback, uint256 refund) =
                abi.decode(logs[j].data, (bytes32, int256, uint64, bytes32, uint256, uint256, uint256));
            if (paidNow + holdback + refund != uint256(m.amount) + m.bonus) settlementBroken = true;
            ghostOwed[t] = ghostOwed[t] - (uint256(m.amount) + m.bonus) + holdback;
            return;
        }
        settlementBroken = true; // settled without the event
    }

    /// @dev After every action: statuses only move forward; credits never fall except by their
    /// owner's withdraw; new credits are owed.
    function _afterAction(address withdrew) internal {
        ++calls;
        for (uint256 k = 0; k < deals.length; ++k) {
            for (uint256 i = 0; i < _milestones[k].length; ++i) {
                MilestoneStatus now_ = escrow.milestoneStatus(deals[k].id, i);
                MilestoneStatus was = lastStatus[k][i];
                if (now_ != was && !_forward(was, now_)) statusWentBack = true;
                lastStatus[k][i] = now_;
            }
        }
        for (uint256 x = 0; x < 2; ++x) {
            address t = tokens[x];
            _syncCredit(t, client, withdrew);
            _syncCredit(t, provider, withdrew);
        }
    }

    /// @dev A failed payment turns into a credit, which stays owed until withdrawn.
    function _syncCredit(address t, address account, address withdrew) internal {
        uint256 credit = escrow.credits(t, account);
        uint256 known = ghostCredits[t][account];
        if (credit < known && account != withdrew) creditFellWithoutWithdraw = true;
        if (credit > known) ghostOwed[t] += credit - known;
        ghostCredits[t][account] = credit;
    }

    function _forward(MilestoneStatus from, MilestoneStatus to) internal pure returns (bool) {
        if (from == MilestoneStatus.Open) return true;
        return from == MilestoneStatus.Disputed && to == MilestoneStatus.Closed;
    }

    // ------------------------------------------------------------ helpers

    function _pick(uint256 dealSeed, uint256 indexSeed, MilestoneStatus wanted)
        internal
        view
        returns (bool found, uint256 k, uint256 i)
    {
        if (deals.length == 0) return (false, 0, 0);
        k = dealSeed % deals.length;
        i = indexSeed % deals[k].count;
        found = escrow.milestoneStatus(deals[k].id, i) == wanted;
    }

    function _randomMilestone(uint256 seed) internal view returns (Milestone memory m) {
        m.amount = uint128(bound(seed, 1, 1e24));
        m.bonus = seed % 3 == 0 ? 0 : uint128(bound(seed >> 8, 0, 1e22));
        m.metricId = keccak256("accuracy@v1");
        (m.floor, m.target, m.stretch) = (8000, 9200, 9600);
        m.deadline = uint64(block.timestamp + bound(seed >> 16, 1 days, 30 days));
        m.holdbackPeriod = uint32(bound(seed >> 24, 0, 30 days));
        m.floorPayoutBps = uint16(bound(seed >> 32, 0, 10_000));
        m.latePenaltyBpsPerDay = uint16(bound(seed >> 48, 0, 500));
        m.maxLatePenaltyBps = uint16(bound(seed >> 64, 0, 5000));
        m.holdbackBps = uint16(bound(seed >> 80, 0, 2000));
        m.higherIsBetter = true;
        m.requiresClientApproval = (seed >> 96) % 4 == 0;
    }

    function _terms(Deal memory d) internal view returns (AgreementTerms memory t) {
        t.client = client;
        t.provider = provider;
        t.arbiter = arbiter;
        t.token = d.token;
        t.oracles = new address[](1);
        t.oracles[0] = oracle;
        t.threshold = 1;
        t.cureWindow = 3 days;
        t.salt = d.salt;
        t.milestonesRoot = MilestoneTree.root(_milestonesOf(d));
    }

    function _milestonesOf(Deal memory d) internal view returns (Milestone[] memory) {
        for (uint256 k = 0; k < deals.length; ++k) {
            if (deals[k].salt == d.salt) return _milestones[k];
        }
        return _milestones[deals.length]; // being created
    }

    function _proof(uint256 k, uint256 index) internal view returns (bytes32[] memory) {
        return MilestoneTree.proof(_milestones[k], index);
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
