// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AttestationRegistry} from "../../AttestationRegistry.sol";
import {MilestoneEscrow} from "../../MilestoneEscrow.sol";
import {AgreementTerms, Attestation, Milestone, Phase} from "../../libraries/EscrowTypes.sol";
import {MilestoneTree} from "./MilestoneTree.sol";
import {MockERC20} from "./tokens/MockERC20.sol";
import {TestBase} from "./Vm.sol";
import {packSettlement} from "./SettlementPacking.sol";

/// @notice Fixtures every escrow test shares: parties and oracles with known keys, a deployed
/// registry + escrow + token, and builders for terms, proofs, consents and oracle signatures.
abstract contract EscrowTestBase is TestBase {
    uint256 internal constant CLIENT_KEY = 0xC11E;
    uint256 internal constant PROVIDER_KEY = 0x9801;
    uint256 internal constant ARBITER_KEY = 0xA4B1;
    address internal client;
    address internal provider;
    address internal arbiter;
    address internal stranger = address(0x5757);

    /// @dev Oracle keys and addresses, sorted by address ascending (the order signatures must use).
    uint256[] internal oracleKeys;
    address[] internal oracles;

    AttestationRegistry internal registry;
    MilestoneEscrow internal escrow;
    MockERC20 internal token;

    uint64 internal constant START = 1_700_000_000;
    bytes32 internal constant METRIC = keccak256("accuracy@v1");
    bytes32 internal constant EVIDENCE = keccak256("evidence bytes");

    function setUp() public virtual {
        vm.warp(START);
        client = vm.addr(CLIENT_KEY);
        provider = vm.addr(PROVIDER_KEY);
        arbiter = vm.addr(ARBITER_KEY);
        _setOracles(3);
        registry = new AttestationRegistry();
        escrow = new MilestoneEscrow(registry);
        token = new MockERC20();
        token.mint(client, 1e30);
        vm.prank(client);
        token.approve(address(escrow), type(uint256).max);
        vm.deal(client, 1e30);
        vm.label(client, "client");
        vm.label(provider, "provider");
        vm.label(address(escrow), "escrow");
    }

    function _setOracles(uint256 n) internal {
        delete oracleKeys;
        delete oracles;
        for (uint256 i = 0; i < n; ++i) {
            oracleKeys.push(0x0A11CE00 + i);
        }
        // insertion sort by address
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(oracleKeys[j]) < vm.addr(oracleKeys[j - 1]); --j) {
                (oracleKeys[j], oracleKeys[j - 1]) = (oracleKeys[j - 1], oracleKeys[j]);
            }
        }
        for (uint256 i = 0; i < n; ++i) {
            oracles.push(vm.addr(oracleKeys[i]));
        }
    }

    // ------------------------------------------------------------ builders

    /// @dev Accuracy in basis points: floor 80.00%, target 92.00%, stretch 96.00%.
    function _milestone() internal view returns (Milestone memory m) {
        m.amount = 100 ether;
        m.bonus = 10 ether;
        m.metricId = METRIC;
        m.floor = 8000;
        m.target = 9200;
        m.stretch = 9600;
        m.deadline = uint64(block.timestamp + 30 days);
        m.holdbackPeriod = 0;
        m.floorPayoutBps = 5000;
        m.latePenaltyBpsPerDay = 100;
        m.maxLatePenaltyBps = 1000;
        m.holdbackBps = 0;
        m.higherIsBetter = true;
        m.requiresClientApproval = false;
    }

    function _milestones(uint256 n) internal view returns (Milestone[] memory ms) {
        ms = new Milestone[](n);
        for (uint256 i = 0; i < n; ++i) {
            ms[i] = _milestone();
        }
    }

    function _terms(address token_, uint8 threshold, Milestone[] memory ms)
        internal
        view
        returns (AgreementTerms memory t)
    {
        t.client = client;
        t.provider = provider;
        t.arbiter = arbiter;
        t.token = token_;
        t.oracles = oracles;
        t.threshold = threshold;
        t.cureWindow = 7 days;
        t.revision = 0;
        t.docsHash = keccak256("terms document v1");
        t.salt = bytes32(uint256(1));
        t.milestonesRoot = _root(ms);
    }

    function _leaves(Milestone[] memory ms) internal pure returns (bytes32[] memory) {
        return MilestoneTree.leaves(ms);
    }

    function _root(Milestone[] memory ms) internal pure returns (bytes32) {
        return MilestoneTree.root(ms);
    }

    function _proof(Milestone[] memory ms, uint256 index) internal pure returns (bytes32[] memory) {
        return MilestoneTree.proof(ms, index);
    }

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev EIP-712 signature of `structHash` under the escrow's domain.
    function _partySig(uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        return _sig(key, escrow.typedDataHash(structHash));
    }

    function _consentSig(uint256 key, AgreementTerms memory t) internal view returns (bytes memory) {
        return _partySig(key, _hashTerms(t));
    }

    function _hashTerms(AgreementTerms memory t) internal view returns (bytes32) {
        return escrow.hashTerms(t);
    }

    /// @dev Client creates and funds with the provider's consent signature; returns the agreement id.
    function _createAndFund(AgreementTerms memory t, Milestone[] memory ms) internal returns (bytes32 id) {
        bytes memory sig = _consentSig(PROVIDER_KEY, t);
        uint256 value = t.token == address(0) ? _total(ms) : 0;
        vm.prank(client);
        id = escrow.createAndFund{value: value}(t, ms, sig);
    }

    /// @dev Terms for `ms` in `token_` that one oracle settles, created and funded by the client.
    function _funded(address token_, Milestone[] memory ms) internal returns (AgreementTerms memory t, bytes32 id) {
        t = _terms(token_, 1, ms);
        id = _createAndFund(t, ms);
    }

    function _total(Milestone[] memory ms) internal pure returns (uint256 total) {
        for (uint256 i = 0; i < ms.length; ++i) {
            total += uint256(ms[i].amount) + ms[i].bonus;
        }
    }

    function _attestation(bytes32 id, uint256 index, int256 value) internal view returns (Attestation memory a) {
        a.agreementId = id;
        a.milestoneIndex = index;
        a.metricId = METRIC;
        a.value = value;
        a.observedAt = uint64(block.timestamp);
        a.evidenceHash = EVIDENCE;
        a.expiresAt = uint64(block.timestamp + 1 days);
    }

    /// @dev Packed signatures of the first `count` oracles (ascending address order).
    function _oracleSigs(Attestation memory a, uint256 count) internal view returns (bytes memory sigs) {
        bytes32 digest = escrow.attestationDigest(a);
        for (uint256 i = 0; i < count; ++i) {
            sigs = bytes.concat(sigs, _sig(oracleKeys[i], digest));
        }
    }

    /// @dev The next call, made by `caller`, must revert with `err`.
    function _expectRevertFrom(address caller, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(caller);
    }

    function _assertPhase(bytes32 id, Phase expected) internal view {
        (Phase phase,,) = escrow.agreement(id);
        vm.assertEq(uint256(phase), uint256(expected));
    }

    /// @dev Settles milestone `index` of `ms` with `value`, signed by `threshold` oracles, as `caller`.
    function _settle(
        address caller,
        AgreementTerms memory t,
        Milestone[] memory ms,
        bytes32 id,
        uint256 index,
        int256 value
    ) internal {
        Attestation memory a = _attestation(id, index, value);
        bytes memory sigs = _oracleSigs(a, t.threshold);
        vm.prank(caller);
        escrow.settleMilestonePacked(packSettlement(t, ms[index], _proof(ms, index), a, sigs));
    }
}
