"""Anchoring: signed attestations go into Merkle batches whose roots the registry stores. Trees,
leaves, proofs and the published batch file are those of `@openzeppelin/merkle-tree`'s
StandardMerkleTree (leaf encoding bytes32), so anyone can load a batch with that library."""

from __future__ import annotations

import json
from dataclasses import dataclass

from attestpay.typed_data import hash_pair, registry_leaf
from oracle.errors import OracleError
from oracle.evidence import EvidenceStore


@dataclass(frozen=True)
class AttestationBatch:
    digests: tuple[bytes, ...]  # attestation digests, in the order they were signed
    tree: tuple[bytes, ...]  # StandardMerkleTree's array layout: root first, sorted leaves last

    @classmethod
    def of(cls, digests: list[bytes]) -> AttestationBatch:
        if not digests:
            raise OracleError("an anchoring batch needs at least one attestation")
        leaves = sorted(registry_leaf(d) for d in digests)
        tree: list[bytes] = [b""] * (2 * len(leaves) - 1)
        for i, leaf in enumerate(leaves):
            tree[len(tree) - 1 - i] = leaf
        for i in range(len(tree) - 1 - len(leaves), -1, -1):
            tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        return cls(tuple(digests), tuple(tree))

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, digest: bytes) -> list[bytes]:
        """Sibling hashes from the attestation's leaf up to the root."""
        try:
            index = self.tree.index(registry_leaf(digest))
        except ValueError:
            raise OracleError(f"attestation 0x{digest.hex()} is not in batch 0x{self.root.hex()}") from None
        proof = []
        while index > 0:
            proof.append(self.tree[index + 1 if index % 2 else index - 1])
            index = (index - 1) // 2
        return proof

    def dump(self) -> bytes:
        """StandardMerkleTree.dump() format ("standard-v1"), loadable by the npm library."""
        values = [{"value": ["0x" + d.hex()], "treeIndex": self.tree.index(registry_leaf(d))} for d in self.digests]
        return json.dumps(
            {
                "format": "standard-v1",
                "leafEncoding": ["bytes32"],
                "tree": ["0x" + node.hex() for node in self.tree],
                "values": values,
            }
        ).encode()


def publish(batch: AttestationBatch, store: EvidenceStore) -> str:
    """Stores the batch file as evidence; the URI names it by its hash."""
    return f"evidence:0x{store.put(batch.dump()).hex()}"
