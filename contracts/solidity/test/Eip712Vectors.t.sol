// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgreementTerms, Attestation, Milestone, Payout} from "../libraries/EscrowTypes.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";
import {MilestoneEscrow} from "../MilestoneEscrow.sol";

/// @notice The shared vectors (tests/vectors/eip712.json, written by scripts/make_vectors.py from
/// attestpay's Python) hash and pay out identically here: Solidity and Python agree.
contract Eip712VectorsTest is EscrowTestBase {
    string internal json;
    uint256 internal homeChain;

    function setUp() public override {
        super.setUp();
        json = vm.readFile(string.concat(vm.projectRoot(), "/tests/vectors/eip712.json"));
        homeChain = block.chainid;
    }

    function _key(uint256 i, string memory path) internal view returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "].", path);
    }

    // The structs as `vm.parseJsonType` reads them: each field by its name in the vector's object.
    string internal constant TERMS_TYPE = "AgreementTerms(address client,address provider,address arbiter,address token,"
        "address[] oracles,uint8 threshold,uint32 cureWindow,uint32 revision,bytes32 docsHash,bytes32 salt,"
        "bytes32 milestonesRoot)";
    string internal constant MILESTONE_TYPE = "Milestone(uint128 amount,uint128 bonus,bytes32 metricId,int256 floor,"
        "int256 target,int256 stretch,uint64 deadline,uint32 holdbackPeriod,uint16 floorPayoutBps,"
        "uint16 latePenaltyBpsPerDay,uint16 maxLatePenaltyBps,uint16 holdbackBps,bool higherIsBetter,"
        "bool requiresClientApproval)";
    string internal constant ATTESTATION_TYPE = "Attestation(bytes32 agreementId,uint256 milestoneIndex,"
        "bytes32 metricId,int256 value,uint64 observedAt,bytes32 evidenceHash,uint64 expiresAt)";

    function _terms(uint256 i) internal view returns (AgreementTerms memory) {
        return abi.decode(vm.parseJsonType(json, _key(i, "terms"), TERMS_TYPE), (AgreementTerms));
    }

    function _milestoneAt(uint256 i) internal view returns (Milestone memory) {
        return abi.decode(vm.parseJsonType(json, _key(i, "milestone"), MILESTONE_TYPE), (Milestone));
    }

    function _attestationAt(uint256 i) internal view returns (Attestation memory) {
        return abi.decode(vm.parseJsonType(json, _key(i, "attestation"), ATTESTATION_TYPE), (Attestation));
    }

    function _count() internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(".cases[", vm.toString(n), "]"))) ++n;
    }

    function test_TermsMilestonesAndAttestationsHashAlike() public {
        uint256 n = _count();
        vm.assertGt(n, 0);
        for (uint256 i = 0; i < n; ++i) {
            vm.assertEq(escrow.hashTerms(_terms(i)), vm.parseJsonBytes32(json, _key(i, "terms.hash")), "terms");
            Milestone memory m = _milestoneAt(i);
            uint256 index = vm.parseJsonUint(json, _key(i, "milestone.index"));
            bytes32 leaf = escrow.hashMilestone(index, m);
            vm.assertEq(leaf, vm.parseJsonBytes32(json, _key(i, "milestone.leaf")), "leaf");
            bytes32[] memory proof = vm.parseJsonBytes32Array(json, _key(i, "milestone.proof"));
            vm.assertEq(_processProof(proof, leaf), _terms(i).milestonesRoot, "milestone proof");
        }
    }

    function test_DigestsAreTheEscrowsAtTheVectorsChainAndAddress() public {
        uint256 n = _count();
        for (uint256 i = 0; i < n; ++i) {
            address at = vm.parseJsonAddress(json, _key(i, "escrow"));
            vm.etch(at, address(escrow).code);
            vm.chainId(vm.parseJsonUint(json, _key(i, "chainId")));
            MilestoneEscrow there = MilestoneEscrow(at);
            vm.assertEq(there.domainSeparator(), vm.parseJsonBytes32(json, _key(i, "domainSeparator")), "domain");
            bytes32 digest = vm.parseJsonBytes32(json, _key(i, "attestation.digest"));
            vm.assertEq(there.attestationDigest(_attestationAt(i)), digest, "digest");
            bytes32 structHash = vm.parseJsonBytes32(json, _key(i, "attestation.structHash"));
            vm.assertEq(there.typedDataHash(structHash), digest, "struct hash");
            vm.chainId(homeChain);
        }
    }

    function test_PayoutsAreThePythonMirrors() public view {
        uint256 n = _count();
        for (uint256 i = 0; i < n; ++i) {
            Attestation memory a = _attestationAt(i);
            Payout memory p = escrow.previewPayout(_milestoneAt(i), a.value, a.observedAt);
            vm.assertEq(p.earnedBps, vm.parseJsonUint(json, _key(i, "payout.earnedBps")), "earnedBps");
            vm.assertEq(p.base, vm.parseJsonUint(json, _key(i, "payout.base")), "base");
            vm.assertEq(p.bonusEarned, vm.parseJsonUint(json, _key(i, "payout.bonusEarned")), "bonus");
            vm.assertEq(p.penalty, vm.parseJsonUint(json, _key(i, "payout.penalty")), "penalty");
            vm.assertEq(p.holdback, vm.parseJsonUint(json, _key(i, "payout.holdback")), "holdback");
            vm.assertEq(p.paidNow, vm.parseJsonUint(json, _key(i, "payout.paidNow")), "paidNow");
            vm.assertEq(p.refund, vm.parseJsonUint(json, _key(i, "payout.refund")), "refund");
        }
    }

    function _processProof(bytes32[] memory proof, bytes32 leaf) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            node = node < proof[i] ? keccak256(abi.encode(node, proof[i])) : keccak256(abi.encode(proof[i], node));
        }
    }
}
