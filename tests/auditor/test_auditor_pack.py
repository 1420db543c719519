"""The audit pack, as an auditor uses it: built with `attestpay report audit-pack` from anvil and the
published evidence of a real settled agreement, re-verified offline by `attestpay verify --pack`,
and against the chain with `--rpc`; one byte of evidence or one payout figure changed fails, naming
what; bad input exits 2 with one line."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from click.testing import CliRunner
from factories import create_and_fund, milestone, send, terms
from test_auditor import SPEC, Deals

from attestpay.devchain import free_port
from attestpay.payout import DAY
from attestpay.terms import ETH
from attestpay_cli.main import app


def attestpay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def built(deals: Deals, tmp_path: Path, token: str) -> tuple[Path, str]:
    att, _ = deals.one_settled(token)
    agreement_id = "0x" + att.agreement_id.hex()
    status, out = attestpay(
        "report", "audit-pack", agreement_id, "--out", str(tmp_path / "packs"), "--rpc", deals.chain.url,
        "--deployment", str(deals.deployment), "--evidence", str(deals.store.root),
    )  # fmt: skip
    assert status == 0, out
    return tmp_path / "packs" / f"audit-pack-{agreement_id[:10]}.zip", agreement_id


def rewritten(pack: Path, name: str, change, target: Path, manifest: bool = True) -> Path:
    """A copy of `pack` with file `name` changed (and the manifest updated to match, as a forger would)."""
    with zipfile.ZipFile(pack) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files[name] = change(files[name])
    if manifest:
        listed = json.loads(files["manifest.json"])
        listed["sha256"][name] = hashlib.sha256(files[name]).hexdigest()
        files["manifest.json"] = json.dumps(listed).encode()
    with zipfile.ZipFile(target, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    return target


def written_pack(anvil, deals, agreement_id: str, pack: Path) -> dict:
    """`attestpay report audit-pack` of the agreement into `pack`, as an auditor runs it; its pack.json."""
    status, out = attestpay(
        "report", "audit-pack", agreement_id, "--out", str(pack), "--rpc", anvil.url,
        "--deployment", str(deals.deployment), "--evidence", str(deals.store.root),
    )  # fmt: skip
    assert status == 0, out
    with zipfile.ZipFile(pack) as z:
        return json.loads(z.read("pack.json"))


def test_a_pack_verifies_offline_and_on_chain_and_each_tampering_is_named(anvil, tmp_path):
    deals = Deals(anvil, tmp_path)
    pack, agreement_id = built(deals, tmp_path, deals.token.address)
    with zipfile.ZipFile(pack) as z:
        names = set(z.namelist())
        content = json.loads(z.read("pack.json"))
        pdf = z.read("report.pdf")
    assert {"pack.json", "report.pdf", "manifest.json"} <= names
    assert any(n.startswith("proofs/") for n in names) and sum(n.startswith("evidence/") for n in names) == 3
    assert pdf.startswith(b"%PDF") and b"pdfaid:part" in pdf
    settlement = content["settlements"][0]
    assert content["agreementId"] == agreement_id and content["audit"]["passed"]
    assert len(settlement["signers"]) == 2 and settlement["payout"]["paid_now"] == settlement["settled"]["paidNow"]

    assert attestpay("verify", "--pack", str(pack)) == (0, f"{pack}: every check passes (offline)\n")
    status, out = attestpay("verify", "--pack", str(pack), "--rpc", anvil.url)
    assert status == 0 and "every check passes (offline and against the chain)" in out, out

    evidence = "evidence/" + settlement["attestation"]["evidence_hash"]
    one_byte = rewritten(pack, evidence, lambda b: b[:-2] + bytes([b[-2] ^ 1]) + b[-1:], tmp_path / "evidence.zip")
    status, out = attestpay("verify", "--pack", str(one_byte))
    assert status == 1 and f"{evidence}: the evidence bytes hash to" in out, out

    unlisted = rewritten(pack, evidence, lambda b: b + b"\n", tmp_path / "unlisted.zip", manifest=False)
    status, out = attestpay("verify", "--pack", str(unlisted))
    assert status == 1 and f"{evidence}: its sha256 is not the manifest's" in out, out

    def more_paid(raw: bytes) -> bytes:
        body = json.loads(raw)
        body["settlements"][0]["payout"]["paid_now"] += 1
        return json.dumps(body).encode()

    figure = rewritten(pack, "pack.json", more_paid, tmp_path / "figure.zip")
    status, out = attestpay("verify", "--pack", str(figure))
    assert status == 1 and "payout step paid_now: the pack says" in out, out


def test_an_ether_agreement_with_a_released_holdback_packs_and_bad_input_exits_2(anvil, tmp_path):
    deals = Deals(anvil, tmp_path)
    ms = [milestone(anvil, metric_id=SPEC.metric_id, holdback_bps=1_000, holdback_period=DAY)]
    agreement = terms(anvil, ETH, ms, threshold=2, salt=b"\x07" * 32)
    create_and_fund(anvil, agreement, ms)
    att, digest, signatures = deals.attest(agreement, anvil.oracles[:2])
    deals.anchor([digest])
    deals.settle(agreement, ms, att, signatures)
    anvil.warp(anvil.now() + 2 * DAY)
    agreement_id = "0x" + att.agreement_id.hex()
    send(anvil, anvil.escrow.functions.releaseHoldback(agreement_id, agreement.as_abi(), 0), anvil.relayer.address)
    content = written_pack(anvil, deals, agreement_id, pack := tmp_path / "pack.zip")
    assert [e["event"] for e in content["events"]][-1] == "HoldbackReleased" and content["audit"]["passed"]
    assert content["settlements"][0]["settled"]["holdback"] > 0
    assert attestpay("verify", "--pack", str(pack), "--rpc", anvil.url)[0] == 0

    def released_more(raw: bytes) -> bytes:
        body = json.loads(raw)
        body["events"][-1]["args"]["amount"] += 1
        return json.dumps(body).encode()

    forged = rewritten(pack, "pack.json", released_more, tmp_path / "released.zip")
    status, out = attestpay("verify", "--pack", str(forged))
    assert status == 1 and "HoldbackReleased of milestone 0" in out and "the settlement held back" in out, out
    status, out = attestpay("verify", "--pack", str(forged), "--rpc", anvil.url)
    assert status == 1 and "chain: HoldbackReleased in tx" in out and "is not on chain as recorded" in out, out

    nowhere = f"http://127.0.0.1:{free_port()}"
    status, out = attestpay("verify", "--pack", str(pack), "--rpc", nowhere)
    assert status == 2 and f"the chain at {nowhere} did not answer" in out, out
    status, out = attestpay("verify", "--pack", str(tmp_path / "missing.zip"))
    assert status == 2 and "cannot read the pack" in out and "Traceback" not in out
    status, out = attestpay(
        "report", "audit-pack", "0x" + "11" * 32, "--out", str(tmp_path), "--rpc", anvil.url,
        "--deployment", str(deals.deployment), "--evidence", str(deals.store.root),
    )  # fmt: skip
    assert status == 2 and "no agreement 0x1111" in out, out


def test_a_pack_records_each_signers_revocation_and_counts_only_unrevoked_signatures(anvil, tmp_path):
    deals = Deals(anvil, tmp_path)
    agreement, ms = deals.funded(deals.token.address)
    first, second, third = anvil.oracles
    att, digest, signatures = deals.attest(agreement, [first, second])
    deals.anchor([digest])
    anvil.escrow.functions.revoke(digest).transact({"from": third.address})  # its own signature only
    deals.settle(agreement, ms, att, signatures)
    anvil.escrow.functions.revoke(digest).transact({"from": first.address})  # after: the settlement stands
    agreement_id = "0x" + att.agreement_id.hex()
    settlement = written_pack(anvil, deals, agreement_id, pack := tmp_path / "pack.zip")["settlements"][0]
    assert [r["signer"] for r in settlement["revocations"]] == [third.address, first.address]
    assert attestpay("verify", "--pack", str(pack), "--rpc", anvil.url)[0] == 0

    def revoked_before(raw: bytes) -> bytes:  # the first signer's revocation moved before the settlement
        body = json.loads(raw)
        body["settlements"][0]["revocations"][1]["blockNumber"] = 0
        return json.dumps(body).encode()

    forged = rewritten(pack, "pack.json", revoked_before, tmp_path / "revoked.zip")
    status, out = attestpay("verify", "--pack", str(forged))
    assert status == 1 and f"signatures: {first.address} revoked its signature" in out, out
    status, out = attestpay("verify", "--pack", str(forged), "--rpc", anvil.url)
    assert status == 1 and f"chain: the revocations of attestation 0x{digest.hex()} are not the registry's" in out

    def unrevoked(raw: bytes) -> bytes:  # a forger hides the revocations: only the chain shows them
        body = json.loads(raw)
        body["settlements"][0]["revocations"] = []
        return json.dumps(body).encode()

    hidden = rewritten(pack, "pack.json", unrevoked, tmp_path / "hidden.zip")
    assert attestpay("verify", "--pack", str(hidden))[0] == 0
    status, out = attestpay("verify", "--pack", str(hidden), "--rpc", anvil.url)
    assert status == 1 and "(2 on chain, 0 in the pack)" in out, out
