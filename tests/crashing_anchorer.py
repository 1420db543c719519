"""An oracle's anchoring run that dies (exit 70, no clean-up, as a kill would) at one point:
  after_prepare  the digests are bound to a batch; nothing is published or sent
  after_publish  the batch file is in the evidence store; no transaction was sent
  after_anchor   the anchor transaction is mined; the queue does not say "anchored"
`python tests/crashing_anchorer.py <point> <queue dir> <evidence dir> <rpc url> <registry> <oracle key>`."""

from __future__ import annotations

import sys

from crash_support import die_after, die_before
from web3 import HTTPProvider, Web3

from attestpay.contracts import contract_at
from oracle import batcher
from oracle.evidence import EvidenceStore
from oracle.signer import OracleSigner

POINTS = {
    "after_prepare": ("publish", die_before),
    "after_publish": ("anchor", die_before),
    "after_anchor": ("anchor", die_after),
}

if __name__ == "__main__":
    point, queue, evidence, rpc, registry, key = sys.argv[1:]
    name, wrap = POINTS[point]
    setattr(batcher, name, wrap(getattr(batcher, name)))
    w3 = Web3(HTTPProvider(rpc))
    signer = OracleSigner.from_dev_key(key, dev_mode=True)
    batcher.AnchorQueue(queue).anchor_pending(
        w3, contract_at(w3, "AttestationRegistry", registry), signer, EvidenceStore(evidence)
    )
    sys.exit(0)
