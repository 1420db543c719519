// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {AttestationRegistry} from "../AttestationRegistry.sol";
import {IAttestationRegistry} from "../interfaces/IAttestationRegistry.sol";
import {TestBase} from "./utils/Vm.sol";

/// @notice Anchoring, inclusion proofs in the StandardMerkleTree format, revocation.
contract AttestationRegistryTest is TestBase {
    AttestationRegistry internal registry;
    uint256 internal constant ORACLE_KEY = 0x0A11CE;
    address internal oracle;

    function setUp() public {
        registry = new AttestationRegistry();
        oracle = vm.addr(ORACLE_KEY);
        vm.warp(1_700_000_000);
    }

    function _digests(uint256 n) internal pure returns (bytes32[] memory d) {
        d = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            d[i] = keccak256(abi.encode("attestation", i));
        }
    }

    /// @dev Root and proof of `index` for the leaves, built like @openzeppelin/merkle-tree builds
    /// a tree over the *sorted* leaves: a complete binary tree in an array, sorted-pair hashing.
    function _tree(bytes32[] memory digests, uint256 index)
        internal
        view
        returns (bytes32 root, bytes32[] memory proof)
    {
        uint256 n = digests.length;
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = registry.leafHash(digests[i]);
        }
        bytes32 target = leaves[index];
        // like the npm library: leaves sorted ascending by hash, placed from the end of the array
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = i; j > 0 && leaves[j] < leaves[j - 1]; --j) {
                (leaves[j], leaves[j - 1]) = (leaves[j - 1], leaves[j]);
            }
        }
        bytes32[] memory tree = new bytes32[](2 * n - 1);
        uint256 at;
        for (uint256 i = 0; i < n; ++i) {
            tree[tree.length - 1 - i] = leaves[i];
            if (leaves[i] == target) at = tree.length - 1 - i;
        }
        for (uint256 k = n - 1; k > 0; --k) {
            tree[k - 1] = Hashes.commutativeKeccak256(tree[2 * k - 1], tree[2 * k]);
        }
        root = tree[0];
        bytes32[] memory buffer = new bytes32[](32);
        uint256 depth;
        while (at > 0) {
            buffer[depth++] = tree[at % 2 == 1 ? at + 1 : at - 1];
            at = (at - 1) / 2;
        }
        proof = new bytes32[](depth);
        for (uint256 i = 0; i < depth; ++i) {
            proof[i] = buffer[i];
        }
    }

    function test_AnchorStoresTheBatchAndEmitsItsUri() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit IAttestationRegistry.BatchAnchored(bytes32(uint256(1)), oracle, 5, "file://batches/1.json");
        vm.prank(oracle);
        registry.anchor(bytes32(uint256(1)), 5, "file://batches/1.json");
        IAttestationRegistry.Batch memory b = registry.batch(bytes32(uint256(1)));
        vm.assertEq(b.anchoredAt, block.timestamp);
        vm.assertEq(b.leafCount, 5);
        vm.assertEq(b.anchorer, oracle);
    }

    function test_RevertWhen_ABatchIsEmptyOrAnchoredTwice() public {
        vm.expectRevert(IAttestationRegistry.EmptyBatch.selector);
        registry.anchor(bytes32(0), 1, "");
        vm.expectRevert(IAttestationRegistry.EmptyBatch.selector);
        registry.anchor(bytes32(uint256(1)), 0, "");
        registry.anchor(bytes32(uint256(1)), 1, "");
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.BatchAlreadyAnchored.selector, bytes32(uint256(1))));
        registry.anchor(bytes32(uint256(1)), 1, "");
    }

    function test_InclusionProofsForEveryLeafOfSeveralTreeSizes() public {
        uint256[4] memory sizes = [uint256(1), 2, 3, 5];
        for (uint256 s = 0; s < sizes.length; ++s) {
            bytes32[] memory digests = _digests(sizes[s]);
            (bytes32 root,) = _tree(digests, 0);
            registry.anchor(root, uint32(sizes[s]), "");
            for (uint256 i = 0; i < sizes[s]; ++i) {
                (, bytes32[] memory proof) = _tree(digests, i);
                vm.assertTrue(registry.isIncluded(root, digests[i], proof), "member");
                vm.assertFalse(registry.isIncluded(root, keccak256("other"), proof), "non-member");
            }
        }
    }

    function test_AProofAgainstAnUnanchoredRootFails() public view {
        bytes32[] memory digests = _digests(3);
        (bytes32 root, bytes32[] memory proof) = _tree(digests, 1);
        vm.assertFalse(registry.isIncluded(root, digests[1], proof));
    }
}
