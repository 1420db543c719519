"""Auditor benchmark: a history of 1,000 settlements on anvil (100 ERC-20 agreements of 10
milestones, measured evidence, one anchored batch), then the whole audit timed, log fetching and
settlement calldata included: settlements verified per second (target 200). Writes
bench/results/auditor.json."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench_support import write_results
from eth_account import Account

import auditor
from attestpay import settlement, typed_data
from attestpay.devchain import AnvilChain, dev_party, start_anvil
from attestpay.devstack import MODEL_ACCURACY_SPEC
from attestpay.terms import AgreementTerms, Attestation, Milestone
from oracle.anchoring import AttestationBatch, publish
from oracle.evidence import EvidenceStore
from oracle.measure import measure
from oracle.spec import MetricSpec

ROOT = Path(__file__).resolve().parent.parent
AGREEMENTS, MILESTONES = 100, 10
SPEC = MetricSpec.model_validate(MODEL_ACCURACY_SPEC)


def history(chain: AnvilChain, store: EvidenceStore, data: Path) -> int:
    """Funds, attests, anchors and settles AGREEMENTS x MILESTONES milestones; returns how many settled."""
    token, escrow, oracle = chain.token, chain.escrow, chain.oracles[0]
    deployer = dev_party(0).address
    token.functions.mint(chain.client.address, 10**27).transact({"from": deployer})
    token.functions.approve(escrow.address, 2**256 - 1).transact({"from": chain.client.address})
    rows = [{"time": 1, "prediction": 1, "label": 1 if i < 95 else 0} for i in range(100)]
    (data / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    measured = measure(SPEC, data, store, chain.now())
    milestone = Milestone.with_defaults(
        amount=10**18,
        bonus=10**17,
        metric_id=SPEC.metric_id,
        floor=8000,
        target=9200,
        stretch=9600,
        deadline=chain.now() + 86_400 * 30,
        floor_payout_bps=5000,
    )
    milestones = [milestone] * MILESTONES
    settlements = []
    for n in range(AGREEMENTS):
        terms = AgreementTerms(
            client=chain.client.address,
            provider=chain.provider.address,
            arbiter=chain.arbiter.address,
            token=token.address,
            oracles=(oracle.address,),
            threshold=1,
            cure_window=86_400,
            revision=0,
            docs_hash=b"\x01" * 32,
            salt=n.to_bytes(32, "big"),
            milestones_root=typed_data.milestones_root(milestones),
        )
        full = typed_data.typed_data("Agreement", typed_data.terms_message(terms), chain.chain_id, escrow.address)
        consent = Account.sign_typed_data(chain.provider.key, full_message=full).signature
        escrow.functions.createAndFund(terms.as_abi(), [m.as_abi() for m in milestones], consent).transact(
            {"from": chain.client.address}
        )
        for index in range(MILESTONES):
            att = Attestation(
                typed_data.terms_hash(terms),
                index,
                SPEC.metric_id,
                measured.value,
                measured.observed_at,
                measured.evidence_hash,
                measured.observed_at + 86_400 * 365,
            )
            digest = typed_data.attestation_digest(att, chain.chain_id, escrow.address)
            settlements.append((terms, index, att, digest, typed_data.sign(oracle.key, digest)))
    batch = AttestationBatch.of([s[3] for s in settlements])
    chain.registry.functions.anchor(batch.root, len(settlements), publish(batch, store)).transact(
        {"from": oracle.address}
    )
    for terms, index, att, _, signature in settlements:
        proof = typed_data.milestone_proof(milestones, index)
        escrow.functions.settleMilestonePacked(settlement.pack(terms, milestone, proof, att, signature)).transact(
            {"from": chain.provider.address, "gas": 400_000}
        )
    return len(settlements)


def main() -> None:
    chain = start_anvil()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store, data = EvidenceStore(Path(tmp) / "evidence"), Path(tmp) / "data"
            data.mkdir()
            settled = history(chain, store, data)
            started = time.perf_counter()
            report = auditor.audit(chain.w3, chain.escrow.address, chain.start_block, store.root)
            elapsed = time.perf_counter() - started
    finally:
        chain.stop()
    if not report["passed"] or report["settlementsVerified"] != settled:
        raise SystemExit(f"the audit did not pass: {report['failures'][:3]}")
    result = {
        "chain": "anvil over JSON-RPC",
        "settlements": settled,
        "blocks": report["headBlock"],
        "seconds": round(elapsed, 3),
        "settlements_verified_per_s": round(settled / elapsed),
        "checks": "signatures, anchoring proof, revocation, payout formula, "
        "ERC-20 transfers, evidence recomputed, conservation, coverage",
    }
    write_results("auditor", result)
    print(f"{result['settlements_verified_per_s']} settlements verified per second (target >= 200)")


if __name__ == "__main__":
    main()
