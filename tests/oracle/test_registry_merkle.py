"""The registry's inclusion check accepts trees and proofs made by the npm @openzeppelin/merkle-tree
library itself (StandardMerkleTree, leaf encoding bytes32), run here through Node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from web3 import Web3

from attestpay import typed_data

ROOT = Path(__file__).resolve().parents[2]
BUILD_TREE = """
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const digests = JSON.parse(process.argv[1]);
const tree = StandardMerkleTree.of(digests.map((d) => [d]), ["bytes32"]);
const out = { root: tree.root, leaves: [], proofs: [] };
for (const [i, v] of tree.entries()) { out.leaves.push(tree.leafHash(v)); out.proofs.push(tree.getProof(i)); }
console.log(JSON.stringify(out));
"""


def _npm_tree(digests: list[str]) -> dict:
    result = subprocess.run(
        ["node", "-e", BUILD_TREE, json.dumps(digests)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_npm_merkle_tree_proofs_verify_on_chain(chain):
    digests = ["0x" + Web3.keccak(text=f"attestation {i}").hex().removeprefix("0x") for i in range(7)]
    tree = _npm_tree(digests)
    root = bytes.fromhex(tree["root"][2:])
    registry = chain.registry
    registry.functions.anchor(root, len(digests), "file://batches/0.json").transact({"from": chain.oracles[0].address})

    for digest, proof in zip(digests, tree["proofs"], strict=True):
        proof_bytes = [bytes.fromhex(p[2:]) for p in proof]
        assert registry.functions.isIncluded(root, bytes.fromhex(digest[2:]), proof_bytes).call()
        assert not registry.functions.isIncluded(root, Web3.keccak(text="never attested"), proof_bytes).call()
    expected_leaves = {"0x" + typed_data.registry_leaf(bytes.fromhex(d[2:])).hex() for d in digests}
    assert set(tree["leaves"]) == expected_leaves
    _, leaf_count, anchorer = registry.functions.batch(root).call()
    assert (leaf_count, anchorer) == (7, chain.oracles[0].address)
