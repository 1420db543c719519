"""Anchoring batches: the Python tree equals @openzeppelin/merkle-tree's (run through Node), roots
anchor on chain from the oracle's own key, proofs verify there, and revocation stops settlement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from factories import create_and_fund, milestone, terms
from web3 import Web3

from attestpay import settlement, typed_data
from attestpay.reverts import decode_revert, revert_data
from attestpay.terms import Attestation
from oracle.anchoring import AttestationBatch
from oracle.batcher import AnchorQueue
from oracle.errors import OracleError
from oracle.evidence import EvidenceStore
from oracle.registry import anchor, revoke
from oracle.signer import OracleSigner

ROOT = Path(__file__).resolve().parents[2]
NPM_VIEW = """
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const digests = JSON.parse(process.argv[1]);
const built = StandardMerkleTree.of(digests.map((d) => [d]), ["bytes32"]);
const loaded = StandardMerkleTree.load(JSON.parse(process.argv[2]));
console.log(JSON.stringify({
  root: built.root, loadedRoot: loaded.root, dump: built.dump(),
  proofs: digests.map((d) => loaded.getProof([d])),
}));
"""


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


@pytest.mark.parametrize("size", [1, 2, 3, 8, 13])
def test_the_python_tree_is_the_npm_librarys(size):
    digests = [Web3.keccak(text=f"attestation {size}-{i}") for i in range(size)]
    batch = AttestationBatch.of(digests)
    out = subprocess.run(
        ["node", "-e", NPM_VIEW, json.dumps([_hex(d) for d in digests]), batch.dump().decode()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    npm = json.loads(out.stdout)
    assert npm["root"] == npm["loadedRoot"] == _hex(batch.root)
    assert npm["dump"] == json.loads(batch.dump())
    assert npm["proofs"] == [[_hex(p) for p in batch.proof(d)] for d in digests]


def test_a_digest_outside_the_batch_has_no_proof():
    with pytest.raises(OracleError, match="not in batch"):
        AttestationBatch.of([b"\x01" * 32]).proof(b"\x02" * 32)


def test_anchored_by_an_oracle_and_proven_on_chain(chain, tmp_path):
    oracle = OracleSigner.from_dev_key(chain.oracles[0].key, dev_mode=True)
    store = EvidenceStore(tmp_path)
    digests = [Web3.keccak(text=f"attestation {i}") for i in range(5)]
    batch = AttestationBatch.of(digests)
    uri = anchor(chain.w3, chain.registry, oracle, batch, store)

    anchored_at, leaf_count, anchorer = chain.registry.functions.batch(batch.root).call()
    assert (leaf_count, anchorer) == (5, oracle.address) and anchored_at > 0
    for d in digests:
        assert chain.registry.functions.isIncluded(batch.root, d, batch.proof(d)).call()
    assert store.get(bytes.fromhex(uri.removeprefix("evidence:0x"))) == batch.dump()


def test_a_bundle_counting_a_revoked_signature_settles_nothing(chain):
    ms = [milestone(chain)]
    agreement = terms(chain, chain.token.address, ms, threshold=1)
    agreement_id = create_and_fund(chain, agreement, ms)
    att = Attestation(agreement_id, 0, ms[0].metric_id, 9300, chain.now(), b"\x07" * 32, chain.now() + 3600)
    digest = typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
    oracle = OracleSigner.from_dev_key(chain.oracles[0].key, dev_mode=True)
    signature = oracle.sign_attestation(att, chain.chain_id, chain.escrow.address)

    revoke(chain.w3, chain.escrow, oracle, digest)
    assert chain.escrow.functions.isRevoked(digest, oracle.address).call()
    settle = chain.escrow.functions.settleMilestonePacked(
        settlement.pack(agreement, ms[0], typed_data.milestone_proof(ms, 0), att, signature)
    )
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the provider decides the type; the data decides the test
        settle.call({"from": chain.relayer.address})
    assert decode_revert(chain.escrow.abi, revert_data(refused.value)).name == "RevokedSignature"


def test_every_queued_attestation_is_anchored_once_and_proven(chain, tmp_path):
    oracle = OracleSigner.from_dev_key(chain.oracles[0].key, dev_mode=True)
    store, queue = EvidenceStore(tmp_path / "evidence"), AnchorQueue(tmp_path / "queue")
    digests = [Web3.keccak(text=f"signed {i}") for i in range(3)]
    for d in [*digests, digests[0]]:
        queue.add(d)
    assert queue.pending() == digests

    first = queue.anchor_pending(chain.w3, chain.registry, oracle, store)
    assert queue.pending() == [] and queue.anchor_pending(chain.w3, chain.registry, oracle, store) is None
    queue.add(digests[1])  # already anchored: not queued again
    assert queue.pending() == []
    for d in digests:
        root, proof = queue.proof(d)
        assert root == first.root and chain.registry.functions.isIncluded(root, d, proof).call()
    with pytest.raises(OracleError, match="not anchored yet"):
        queue.proof(Web3.keccak(text="unsigned"))


def test_a_restart_after_the_anchor_transaction_records_without_sending_again(chain, tmp_path):
    oracle = OracleSigner.from_dev_key(chain.oracles[0].key, dev_mode=True)
    store, queue = EvidenceStore(tmp_path / "evidence"), AnchorQueue(tmp_path / "queue")
    digest = Web3.keccak(text="signed before the crash")
    queue.add(digest)
    anchor(chain.w3, chain.registry, oracle, AttestationBatch.of([digest]), store)  # then the process died
    nonce = chain.w3.eth.get_transaction_count(oracle.address)

    record = AnchorQueue(tmp_path / "queue").anchor_pending(chain.w3, chain.registry, oracle, store)
    assert record.digests == (digest,)
    assert chain.w3.eth.get_transaction_count(oracle.address) == nonce  # no second transaction
    assert queue.proof(digest)[0] == record.root


@pytest.mark.parametrize("point", ["after_prepare", "after_publish", "after_anchor"])
def test_an_anchoring_run_killed_at_each_step_anchors_once_on_the_next_run(point, anvil, tmp_path):
    oracle = anvil.oracles[0]
    queue_dir, evidence = tmp_path / "queue", tmp_path / "evidence"
    queue = AnchorQueue(queue_dir)
    digests = [Web3.keccak(text=f"signed {i}") for i in range(3)]
    for d in digests:
        queue.add(d)
    crashed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "crashing_anchorer.py"),
            point,
            str(queue_dir),
            str(evidence),
            anvil.url,
            anvil.registry.address,
            oracle.key,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert crashed.returncode == 70, crashed.stderr
    later = Web3.keccak(text="signed after the crash")
    queue.add(later)  # waits for the next batch: the prepared one keeps its digests
    assert queue.waiting()[0] == 4

    signer = OracleSigner.from_dev_key(oracle.key, dev_mode=True)
    first = AnchorQueue(queue_dir).anchor_pending(anvil.w3, anvil.registry, signer, EvidenceStore(evidence))
    second = AnchorQueue(queue_dir).anchor_pending(anvil.w3, anvil.registry, signer, EvidenceStore(evidence))
    assert set(first.digests) == set(digests) and second.digests == (later,)
    assert queue.anchor_pending(anvil.w3, anvil.registry, signer, EvidenceStore(evidence)) is None
    anchored = anvil.registry.events.BatchAnchored().get_logs(from_block=0)
    assert sorted(e["args"]["root"] for e in anchored) == sorted((first.root, second.root))  # each root once
    assert anvil.w3.eth.get_transaction_count(oracle.address) == 2  # no transaction sent twice
    assert queue.waiting() == (0, None)
    for d in digests:
        root, proof = queue.proof(d)
        assert root == first.root and anvil.registry.functions.isIncluded(root, d, proof).call()
