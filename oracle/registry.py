"""The oracle's transactions: anchor a batch in the AttestationRegistry, revoke its own signature in
the MilestoneEscrow that counts it."""

from __future__ import annotations

from web3 import Web3
from web3.contract import Contract

from oracle.anchoring import AttestationBatch, publish
from oracle.evidence import EvidenceStore
from oracle.signer import OracleSigner, send_transaction


def anchor(w3: Web3, registry: Contract, signer: OracleSigner, batch: AttestationBatch, store: EvidenceStore) -> str:
    """Publishes the batch file to the evidence store, anchors its root; returns the URI."""
    uri = publish(batch, store)
    send_transaction(w3, signer, registry.functions.anchor(batch.root, len(batch.digests), uri))
    return uri


def revoke(w3: Web3, escrow: Contract, signer: OracleSigner, digest: bytes) -> None:
    """Withdraws this signer's signature of `digest`: the escrow no longer counts it, and the
    attestation still settles only with enough other members' unrevoked signatures."""
    send_transaction(w3, signer, escrow.functions.revoke(digest))
