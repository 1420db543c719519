"""Write tests/vectors/eip712.json: deterministic cases that Foundry (Eip712Vectors.t.sol) and
pytest (test_vectors.py) both check, so Solidity and Python hash and pay alike."""

from __future__ import annotations

import json
import random
from pathlib import Path

from eth_utils import to_checksum_address

from attestpay import payout, typed_data
from attestpay.terms import AgreementTerms, Attestation, Milestone

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "eip712.json"
INT256 = 2**255


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _address(rng: random.Random) -> str:
    return to_checksum_address("0x" + rng.randbytes(20).hex())


def _milestone(rng: random.Random) -> Milestone:
    up = rng.random() < 0.5
    bound = rng.choice([10**4, 10**18, INT256 - 1])
    a, b, c = sorted(rng.randrange(-bound, bound) for _ in range(3))
    if not up:
        a, c = c, a
    bonus = rng.randrange(0, 2**128) if b != c else 0
    return Milestone(
        amount=rng.randrange(1, 2**128),
        bonus=bonus,
        metric_id=rng.randbytes(32),
        floor=a,
        target=b,
        stretch=c,
        deadline=rng.randrange(0, 2**64),
        holdback_period=rng.randrange(0, 2**32),
        floor_payout_bps=rng.randrange(0, payout.BPS + 1),
        late_penalty_bps_per_day=rng.randrange(0, payout.BPS + 1),
        max_late_penalty_bps=rng.randrange(0, payout.BPS + 1),
        holdback_bps=rng.randrange(0, payout.BPS + 1),
        higher_is_better=up,
        requires_client_approval=rng.random() < 0.5,
    )


def case(rng: random.Random) -> dict:
    chain_id, escrow = rng.randrange(1, 2**32), _address(rng)
    milestones = [_milestone(rng) for _ in range(rng.randrange(1, 6))]
    terms = AgreementTerms(
        client=_address(rng),
        provider=_address(rng),
        arbiter=_address(rng),
        token=_address(rng),
        oracles=tuple(sorted((_address(rng) for _ in range(rng.randrange(1, 5))), key=lambda a: int(a, 16))),
        threshold=1,
        cure_window=rng.randrange(0, 2**32),
        revision=rng.randrange(0, 2**32),
        docs_hash=rng.randbytes(32),
        salt=rng.randbytes(32),
        milestones_root=typed_data.milestones_root(milestones),
    )
    index = rng.randrange(len(milestones))
    m = milestones[index]
    att = Attestation(
        agreement_id=rng.randbytes(32),
        milestone_index=index,
        metric_id=m.metric_id,
        value=rng.randrange(-INT256, INT256),
        observed_at=rng.randrange(0, 2**64),
        evidence_hash=rng.randbytes(32),
        expires_at=rng.randrange(0, 2**64),
    )
    p = payout.compute(m, att.value, att.observed_at)
    return {
        "chainId": chain_id,
        "escrow": escrow,
        "terms": {
            "client": terms.client,
            "provider": terms.provider,
            "arbiter": terms.arbiter,
            "token": terms.token,
            "oracles": list(terms.oracles),
            "threshold": terms.threshold,
            "cureWindow": terms.cure_window,
            "revision": terms.revision,
            "docsHash": _hex(terms.docs_hash),
            "salt": _hex(terms.salt),
            "milestonesRoot": _hex(terms.milestones_root),
            "hash": _hex(typed_data.terms_hash(terms)),
        },
        "milestone": {
            "index": index,
            "amount": str(m.amount),
            "bonus": str(m.bonus),
            "metricId": _hex(m.metric_id),
            "floor": str(m.floor),
            "target": str(m.target),
            "stretch": str(m.stretch),
            "deadline": str(m.deadline),
            "holdbackPeriod": m.holdback_period,
            "floorPayoutBps": m.floor_payout_bps,
            "latePenaltyBpsPerDay": m.late_penalty_bps_per_day,
            "maxLatePenaltyBps": m.max_late_penalty_bps,
            "holdbackBps": m.holdback_bps,
            "higherIsBetter": m.higher_is_better,
            "requiresClientApproval": m.requires_client_approval,
            "leaf": _hex(typed_data.milestone_leaf(index, m)),
            "proof": [_hex(x) for x in typed_data.milestone_proof(milestones, index)],
        },
        "attestation": {
            "agreementId": _hex(att.agreement_id),
            "milestoneIndex": index,
            "metricId": _hex(att.metric_id),
            "value": str(att.value),
            "observedAt": str(att.observed_at),
            "evidenceHash": _hex(att.evidence_hash),
            "expiresAt": str(att.expires_at),
            "structHash": _hex(typed_data.struct_hash("MetricAttestation", typed_data.attestation_message(att))),
            "digest": _hex(typed_data.attestation_digest(att, chain_id, escrow)),
        },
        "domainSeparator": _hex(typed_data.domain_separator(chain_id, escrow)),
        "payout": {
            "earnedBps": str(p.earned_bps),
            "base": str(p.base),
            "bonusEarned": str(p.bonus_earned),
            "penaltyBps": str(p.penalty_bps),
            "penalty": str(p.penalty),
            "net": str(p.net),
            "holdback": str(p.holdback),
            "paidNow": str(p.paid_now),
            "refund": str(p.refund),
        },
    }


def main() -> None:
    rng = random.Random(712)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"cases": [case(rng) for _ in range(24)]}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
