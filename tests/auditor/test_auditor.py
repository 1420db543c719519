"""The auditor, as an auditor runs it (`python -m auditor`, a real process) against anvil: a clean
history passes, and each kind of tampering is caught with its reason: evidence bytes altered, an
attestation never anchored, a signer outside the oracle set, a signature its signer had revoked, a
payout that differs from the formula (a deliberately faulty escrow, deployed only here)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from factories import ACCURACY_SPEC, create_and_fund, milestone, send, terms

from attestpay import settlement, typed_data
from attestpay.contracts import deploy
from attestpay.devchain import dev_party
from attestpay.terms import ETH, Attestation
from oracle.anchoring import AttestationBatch, publish
from oracle.evidence import EvidenceStore
from oracle.measure import measure
from oracle.spec import MetricSpec

ROOT = Path(__file__).resolve().parents[2]
SPEC = MetricSpec.model_validate(ACCURACY_SPEC)


class Deals:
    """Agreements on one escrow with oracles that measure real evidence into a published store."""

    def __init__(self, chain, tmp_path: Path, fake_paying_extra_bps: int | None = None) -> None:
        """On the real escrow, or on `FakeEscrow` (no signature checks, paying the provider that
        much of the amount beyond the formula)."""
        deployer = dev_party(0).address
        escrow = (
            chain.escrow
            if fake_paying_extra_bps is None
            else deploy(chain.w3, "FakeEscrow", chain.registry.address, fake_paying_extra_bps, sender=deployer)
        )
        self.chain = dataclasses.replace(chain, escrow=escrow)
        self.token = chain.token
        self.token.functions.mint(chain.client.address, 10**24).transact({"from": deployer})
        self.token.functions.approve(escrow.address, 2**256 - 1).transact({"from": chain.client.address})
        self.data, self.store, self.made = tmp_path / "data", EvidenceStore(tmp_path / "evidence"), 0
        self.deployment = tmp_path / "deployment.json"
        self.deployment.write_text(
            json.dumps({"chainId": chain.chain_id, "escrow": escrow.address, "block": chain.start_block})
        )

    def funded(self, token: str) -> tuple:
        ms = [milestone(self.chain, metric_id=SPEC.metric_id)]
        self.made += 1
        agreement = terms(self.chain, token, ms, threshold=2, salt=self.made.to_bytes(32, "big"))
        create_and_fund(self.chain, agreement, ms)
        return agreement, ms

    def attest(self, agreement, signers) -> tuple[Attestation, bytes, bytes]:
        """Measures its own evaluation data (accuracy 95.xx%, different per agreement) and signs."""
        data = self.data / str(self.made)
        data.mkdir(parents=True)
        rows = [{"time": 1, "prediction": 1, "label": 1 if i < 9500 + self.made else 0} for i in range(10_000)]
        (data / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        measured = measure(SPEC, data, self.store, self.chain.now())
        att = Attestation(
            typed_data.terms_hash(agreement),
            0,
            SPEC.metric_id,
            measured.value,
            measured.observed_at,
            measured.evidence_hash,
            measured.observed_at + 86_400,
        )
        digest = typed_data.attestation_digest(att, self.chain.chain_id, self.chain.escrow.address)
        signed = sorted(((s.address, typed_data.sign(s.key, digest)) for s in signers), key=lambda p: int(p[0], 16))
        return att, digest, typed_data.pack_signatures(signed)

    def anchor(self, digests: list[bytes]) -> None:
        batch = AttestationBatch.of(digests)
        uri = publish(batch, self.store)
        self.chain.registry.functions.anchor(batch.root, len(digests), uri).transact(
            {"from": self.chain.oracles[0].address}
        )

    def settle(self, agreement, ms, att: Attestation, signatures: bytes) -> None:
        call = self.chain.escrow.functions.settleMilestonePacked(
            settlement.pack(agreement, ms[0], typed_data.milestone_proof(ms, 0), att, signatures)
        )
        send(self.chain, call, self.chain.provider.address)

    def one_settled(
        self, token: str, signers=None, anchored: bool = True, revoked_first: bool = False
    ) -> tuple[Attestation, bytes]:
        """`revoked_first`: the first signer withdraws its signature before the settlement."""
        agreement, ms = self.funded(token)
        signers = signers or self.chain.oracles[:2]
        att, digest, signatures = self.attest(agreement, signers)
        if anchored:
            self.anchor([digest])
        if revoked_first:
            self.chain.escrow.functions.revoke(digest).transact({"from": signers[0].address})
        self.settle(agreement, ms, att, signatures)
        return att, digest

    def audit(self, tmp_path: Path) -> tuple[int, dict, str]:
        command = [
            sys.executable,
            "-m",
            "auditor",
            "--rpc",
            self.chain.url,
            "--deployment",
            str(self.deployment),
            "--evidence",
            str(self.store.root),
            "--json",
            str(tmp_path / "audit.json"),
            "--html",
            str(tmp_path / "audit.html"),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads((tmp_path / "audit.json").read_text()), done.stdout


def test_a_clean_history_passes(anvil, tmp_path):
    deals = Deals(anvil, tmp_path)
    deals.one_settled(deals.token.address)
    deals.one_settled(ETH)
    status, report, out = deals.audit(tmp_path)
    assert status == 0, out
    assert report["passed"] and report["settlementsVerified"] == 2 and report["failures"] == []
    assert [a["passed"] for a in report["agreements"]] == [True, True]
    assert "every payout checks out" in out
    assert "Every payout checks out." in (tmp_path / "audit.html").read_text()


@pytest.mark.parametrize(
    "case, reason",
    [
        ("altered evidence", "was altered"),
        ("never anchored", "is not in any batch anchored in the registry"),
        ("signer outside the set", "is not in the oracle set"),
        ("signature revoked before the settlement", "revoked its signature"),
        ("payout off the formula", "the payout differs from the formula"),
    ],
)
def test_each_kind_of_tampering_is_caught_with_its_reason(case, reason, anvil, tmp_path):
    faked = {"signer outside the set": 0, "signature revoked before the settlement": 0, "payout off the formula": 100}
    deals = Deals(anvil, tmp_path, faked.get(case))
    deals.one_settled(deals.token.address)  # a clean settlement beside the tampered one
    outsider = [anvil.oracles[0], dev_party(8)]
    att, digest = deals.one_settled(
        deals.token.address,
        signers=outsider if case == "signer outside the set" else None,
        anchored=case != "never anchored",
        revoked_first=case == "signature revoked before the settlement",
    )
    if case == "altered evidence":
        path = deals.store.root / att.evidence_hash.hex()[:2] / att.evidence_hash.hex()
        path.write_bytes(path.read_bytes().replace(b'"label": 0', b'"label": 1', 1))
    if case == "never anchored":
        anvil.warp(anvil.now() + 300 + 60 + 1)  # past the nodes' window (300 s by default) and its grace

    status, report, out = deals.audit(tmp_path)
    assert status == 1 and not report["passed"], out
    beside, tampered = report["agreements"]
    assert any(reason in failure for failure in tampered["failures"]), tampered["failures"]
    assert beside["passed"] == (case != "payout off the formula")  # that escrow pays every milestone wrong
    assert "DISCREPANCIES FOUND" in out


def test_a_settlement_not_yet_anchored_within_the_window_is_a_warning_then_a_discrepancy(anvil, tmp_path):
    deals = Deals(anvil, tmp_path)
    deals.one_settled(deals.token.address, anchored=False)
    status, report, out = deals.audit(tmp_path)
    assert status == 0 and report["passed"], out
    (pending,) = report["anchoringPending"]
    assert "anchoring pending within the nodes' window" in pending
    assert "every payout checks out" in out and "not anchored yet" in out

    anvil.warp(anvil.now() + 361)
    status, report, out = deals.audit(tmp_path)
    assert status == 1 and report["anchoringPending"] == [], out
    assert "past the nodes' window" in report["failures"][0] and "DISCREPANCIES FOUND" in out
