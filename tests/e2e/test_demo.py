"""`attestpay demo`, run as a newcomer runs it (a process): the four business scenarios end to end on
the embedded chain. Its JSON is checked against the rules, not against itself: every milestone
conserves amount + bonus, every settled figure equals the payout module's for the attested value
and time, each scenario shows what the business background asks of it, the attested values are
recomputed from the evidence it published, and the independent audit passed."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from facturx import get_xml_from_pdf

from attestpay import payout
from attestpay.terms import Milestone
from attestpay_cli.demo import account
from backend.domain.en16931_validation import validate
from oracle.evidence import EvidenceStore
from oracle.measure import value_from_evidence
from oracle.spec import MetricSpec

pytestmark = pytest.mark.slow  # the whole demo as a process, once for the module (tests/conftest.py: ONE_WORKER)

TERMS = {
    "amount",
    "bonus",
    "higherIsBetter",
    "floor",
    "target",
    "stretch",
    "floorPayoutBps",
    "deadline",
    "latePenaltyBpsPerDay",
    "maxLatePenaltyBps",
    "holdbackBps",
    "holdbackPeriod",
    "requiresClientApproval",
}
OUTCOME = {"state", "paidNow", "holdback", "refund", "base", "bonusEarned", "penalty"}


def attestpay(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from attestpay_cli.main import run; run()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One run of the demo for the whole module (kept on one pytest-xdist worker: tests/conftest.py)."""
    workdir = tmp_path_factory.mktemp("demo") / "run"
    done = attestpay("demo", "--json", "--workdir", str(workdir))
    assert done.returncode == 0, done.stderr
    return done, workdir


@pytest.fixture(scope="module")
def demo(played) -> tuple[dict, EvidenceStore]:
    done, workdir = played
    document = json.loads(done.stdout)
    assert json.loads((workdir / "demo.json").read_text()) == document  # the account is kept beside the files
    return document, EvidenceStore(workdir / "evidence")


def terms_of(m: dict) -> Milestone:
    t = {k: int(v) if isinstance(v, str) else v for k, v in m["terms"].items()}
    return Milestone(
        t["amount"],
        t["bonus"],
        bytes.fromhex(m["metricId"][2:]),
        t["floor"],
        t["target"],
        t["stretch"],
        t["deadline"],
        t["holdbackPeriod"],
        t["floorPayoutBps"],
        t["latePenaltyBpsPerDay"],
        t["maxLatePenaltyBps"],
        t["holdbackBps"],
        t["higherIsBetter"],
        t["requiresClientApproval"],
    )


def figures(m: dict) -> dict:
    return {k: int(v) for k, v in m["outcome"].items() if k in OUTCOME - {"state"}}


def test_every_milestone_conserves_its_funds_and_pays_by_the_formula(demo):
    document, _ = demo
    milestones = [m for s in document["scenarios"] for m in s["milestones"]]
    assert len(milestones) == 11
    for m in milestones:
        assert set(m["terms"]) == TERMS and OUTCOME <= set(m["outcome"]) and m["transactions"]
        out, t = figures(m), terms_of(m)
        assert out["paidNow"] + out["holdback"] + out["refund"] == t.amount + t.bonus, m["title"]
        if m["outcome"]["state"] == "settled":
            a = m["attestation"]
            expected = payout.compute(t, a["value"], a["observedAt"])
            assert out == {
                "paidNow": expected.paid_now,
                "holdback": expected.holdback,
                "refund": expected.refund,
                "base": expected.base,
                "bonusEarned": expected.bonus_earned,
                "penalty": expected.penalty,
            }, m["title"]
            assert len(a["signers"]) >= 2 and "MilestoneSettled" in [tx["event"] for tx in m["transactions"]]
    assert document["audit"]["passed"] and document["audit"]["failures"] == []
    assert document["audit"]["settlementsVerified"] == sum(m["outcome"]["state"] == "settled" for m in milestones) == 9


def test_each_scenario_plays_what_the_business_background_describes(demo):
    document, _ = demo
    ai, saas, agency, software = document["scenarios"]
    assert [s["name"] for s in document["scenarios"]] == [
        "AI implementation",
        "SaaS onboarding",
        "Marketing agency",
        "Custom software",
    ]

    integration, accuracy, rollout = ai["milestones"]
    assert ai["oracles"]["threshold"] == 2 and len(ai["oracles"]["signers"]) == 3
    assert integration["terms"]["requiresClientApproval"] and "MilestoneApproved" in [
        t["event"] for t in integration["transactions"]
    ]
    assert accuracy["attestation"]["value"] >= accuracy["terms"]["target"] == 9_200
    assert accuracy["terms"]["holdbackBps"] == 1_000 and int(accuracy["outcome"]["holdback"]) > 0
    assert accuracy["outcome"]["holdbackStatus"] == "released" and "HoldbackReleased" in [
        t["event"] for t in accuracy["transactions"]
    ]
    assert rollout["outcome"]["state"] == "settled"

    activated, adoption = saas["milestones"]
    assert activated["metric"]["name"] == "activated users" and int(activated["outcome"]["bonusEarned"]) > 0
    assert adoption["attestation"]["value"] < adoption["terms"]["target"] and adoption["outcome"]["state"] == "settled"
    assert (
        0 < int(adoption["outcome"]["refund"]) < int(adoption["terms"]["amount"])
    )  # partly paid, on the provider's acceptance

    assert agency["token"] == "ETH"
    conversions = agency["milestones"][1]
    assert conversions["attestation"]["observedAt"] > conversions["terms"]["deadline"]
    assert (
        conversions["attestation"]["value"] >= conversions["terms"]["target"]
        and int(conversions["outcome"]["penalty"]) > 0
    )

    acceptance, latency, disputed, missed = software["milestones"]
    assert acceptance["terms"]["requiresClientApproval"] and acceptance["outcome"]["state"] == "settled"
    assert latency["terms"]["higherIsBetter"] is False and latency["attestation"]["value"] <= latency["terms"]["target"]
    assert disputed["outcome"]["state"] == "split by the arbiter" and disputed["outcome"]["providerShareBps"] == 6_000
    t = terms_of(disputed)
    assert int(disputed["outcome"]["paidNow"]) == (t.amount + t.bonus) * 6_000 // payout.BPS
    assert [t["event"] for t in disputed["transactions"]] == ["DisputeOpened", "DisputeResolved"]
    assert missed["attestation"] is None and missed["outcome"]["state"] == "reclaimed"
    assert int(missed["outcome"]["refund"]) == int(missed["terms"]["amount"])


def test_every_attested_value_is_recomputed_from_the_published_evidence(demo):
    document, store = demo
    attested = [m for s in document["scenarios"] for m in s["milestones"] if m["attestation"]]
    assert len(attested) == 10
    for m in attested:
        a = m["attestation"]
        spec = MetricSpec.model_validate_json(store.get(bytes.fromhex(m["metricId"][2:])))
        value, used, _ = value_from_evidence(spec, store.get(bytes.fromhex(a["evidenceHash"][2:])), a["observedAt"])
        assert value == a["value"] and used > 0, m["title"]
    anchored = document["anchoring"]
    # Every signed attestation, settling or not, is anchored: in the demo's final batch, or earlier by a
    # node's own schedule (issue 20), so in one batch or more.
    assert anchored and sum(batch["attestations"] for batch in anchored) >= 11


def test_the_readable_account_ends_with_the_audit_passing(played, demo):
    """What `attestpay demo` prints without --json: the account in words, of the same document."""
    done, workdir = played
    text = account.text(demo[0])
    assert "== Custom software" in text and "split by the arbiter" in text
    assert "9 settlements of 4 agreements re-verified: every payout checks out" in text
    assert "[4/4] Custom software" in done.stderr  # progress goes to stderr
    assert (workdir / "audit.html").read_text().count("Every payout checks out.") == 1


def test_a_used_workdir_is_refused_with_a_reason(tmp_path):
    (tmp_path / "attestpay.db").write_text("an earlier run")
    done = attestpay("demo", "--workdir", str(tmp_path), timeout=60)
    assert done.returncode == 2 and "is not empty" in done.stderr


def test_the_demo_leaves_valid_e_invoices_and_journals_that_tie_out(demo):
    """Every XML passes the XSD and the EN 16931 schematron; each Factur-X PDF carries its CII; the journals
    of both parties balance and tie to the chain; the cross-border deals reverse-charge VAT and the one
    with the client's German subsidiary charges German VAT."""
    report, _ = demo
    documents = Path(report["documents"]["directory"])
    xml = sorted(documents.glob("*.xml"))
    assert len(xml) == 2 * len(list(documents.glob("AP-*.pdf"))) > 0
    for path in xml:
        validate(path.read_bytes())
    for pdf in documents.glob("AP-*.pdf"):
        assert (
            get_xml_from_pdf(pdf.read_bytes(), check_xsd=False)[1] == (documents / f"{pdf.stem}.cii.xml").read_bytes()
        )
    categories = {re.search(rb"<ram:CategoryCode>(\w+)<", p.read_bytes()).group(1) for p in documents.glob("*.cii.xml")}
    assert categories == {b"AE", b"S"}
    assert all("holdback release" in s["reason"] for s in report["documents"]["not_invoiced"])
    for party in ("client", "provider"):
        journal = json.loads((documents / f"journal-{party}.json").read_text())
        assert journal["entries"] and all(c["ties"] for c in journal["close"].values())
        for entry in journal["entries"]:
            postings = entry["postings"]
            assert sum(int(p["debit"]) for p in postings) == sum(int(p["credit"]) for p in postings)
            assert sum(Decimal(p["debit_fiat"]) for p in postings) == sum(Decimal(p["credit_fiat"]) for p in postings)


def test_the_demo_leaves_one_audit_pack_per_agreement_that_verifies_offline_and_fails_when_tampered(demo, tmp_path):
    report, _ = demo
    documents = Path(report["documents"]["directory"])
    packs = sorted(documents.glob("audit-pack-*.zip"))
    expected = sorted(f"audit-pack-{s['agreementId'][:10]}.zip" for s in report["scenarios"])
    assert [p.name for p in packs] == expected
    for pack in packs:
        done = attestpay("verify", "--pack", str(pack), timeout=120)
        assert done.returncode == 0 and "every check passes (offline)" in done.stdout, done.stdout + done.stderr
    with zipfile.ZipFile(packs[0]) as z:
        files = {n: z.read(n) for n in z.namelist()}
    body = json.loads(files["pack.json"])
    body["settlements"][0]["settled"]["paidNow"] += 1  # one figure, the manifest re-hashed as a forger would
    files["pack.json"] = json.dumps(body).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["sha256"]["pack.json"] = hashlib.sha256(files["pack.json"]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    done = attestpay("verify", "--pack", str(forged), timeout=120)
    assert done.returncode == 1 and "settled paidNow: the pack says" in done.stdout, done.stdout
