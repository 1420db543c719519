"""An auditor with only a node and `cast`: one settlement's payout is rebuilt from JSON-RPC reads
alone (eth_getLogs, eth_call and eth_getTransactionReceipt through `cast`), with the rulebook's
formula written out here independently of the project's code, and checked against the token
transfers the chain recorded. The project's code only sets the scene (create, fund, settle)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from factories import DAY, create_and_fund, milestone, send, terms

from attestpay import settlement, typed_data
from attestpay.terms import Attestation

ROOT = Path(__file__).resolve().parents[2]
MILESTONE = "(uint128,uint128,bytes32,int256,int256,int256,uint64,uint32,uint16,uint16,uint16,uint16,bool,bool)"
TERMS = "(address,address,address,address,address[],uint8,uint32,uint32,bytes32,bytes32,bytes32)"
CREATED = f"AgreementCreated(bytes32 indexed,address indexed,address indexed,{TERMS},{MILESTONE}[],uint8)"
SETTLED = "MilestoneSettled(bytes32 indexed,uint256 indexed,bytes32,int256,uint64,bytes32,uint256,uint256,uint256)"


def cast(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "foundry"), "cast", *args], capture_output=True, text=True, check=check
    )


def logs(url: str, address: str, event: str, topic: str) -> list[dict]:
    """eth_getLogs for `event` of `address` whose first indexed topic is `topic`."""
    out = cast("logs", "--rpc-url", url, "--from-block", "0", "--address", address, "--json", event, topic).stdout
    return json.loads(out)


def words(data: str) -> list[int]:
    raw = bytes.fromhex(data[2:])
    return [int.from_bytes(raw[i : i + 32], "big") for i in range(0, len(raw), 32)]


def signed(word: int) -> int:
    return word - 2**256 if word >= 2**255 else word


def rulebook_payout(m: dict, value: int, observed_at: int) -> tuple[int, int, int]:
    """escrow-semantics.md, "Settlement", steps 1-7: (paidNow, holdback, refund)."""
    v, floor, target, stretch = value, m["floor"], m["target"], m["stretch"]
    if not m["higherIsBetter"]:
        v, floor, target, stretch = -v, -floor, -target, -stretch
    if v < floor:
        earned = 0
    elif v >= target:
        earned = 10_000
    else:
        earned = m["floorPayoutBps"] + (10_000 - m["floorPayoutBps"]) * (v - floor) // (target - floor)
    base = m["amount"] * earned // 10_000
    if m["bonus"] == 0 or v <= target:
        bonus = 0
    elif v >= stretch:
        bonus = m["bonus"]
    else:
        bonus = m["bonus"] * (v - target) // (stretch - target)
    days_late = 0 if observed_at <= m["deadline"] else -(-(observed_at - m["deadline"]) // 86_400)
    penalty_bps = min(days_late * m["latePenaltyBpsPerDay"], m["maxLatePenaltyBps"])
    gross = base + bonus
    net = gross - gross * penalty_bps // 10_000
    holdback = net * m["holdbackBps"] // 10_000
    return net - holdback, holdback, m["amount"] + m["bonus"] - net


def milestone_from_event(created: dict, index: int) -> dict:
    """Milestone `index` of the AgreementCreated event, its data decoded by `cast decode-abi`."""
    decoded = cast("decode-abi", f"f()({TERMS},{MILESTONE}[],uint8)", created["data"], "--json").stdout
    fields = json.loads(decoded)[1][index]
    names = (
        "amount bonus metricId floor target stretch deadline holdbackPeriod floorPayoutBps latePenaltyBpsPerDay "
        "maxLatePenaltyBps holdbackBps higherIsBetter requiresClientApproval"
    ).split()
    return {
        name: f if isinstance(f, bool) or str(f).startswith("0x") else int(f)
        for name, f in zip(names, fields, strict=True)
    }


def test_a_settlement_is_rebuilt_from_cast_reads_alone(anvil):
    # the scene: an ERC-20 milestone with a bonus and a holdback, settled two days late above target
    token = anvil.token
    token.functions.mint(anvil.client.address, 10**24).transact({"from": anvil.client.address})
    token.functions.approve(anvil.escrow.address, 2**256 - 1).transact({"from": anvil.client.address})
    ms = [milestone(anvil, holdback_bps=1000, holdback_period=30 * DAY)]
    agreement = terms(anvil, token.address, ms, threshold=2)
    agreement_id = create_and_fund(anvil, agreement, ms)
    anvil.warp(ms[0].deadline + DAY + 1)
    now = anvil.now()
    att = Attestation(agreement_id, 0, ms[0].metric_id, 9400, now, b"\x07" * 32, now + DAY)
    digest = typed_data.attestation_digest(att, anvil.chain_id, anvil.escrow.address)
    sigs = typed_data.pack_signatures([(o.address, typed_data.sign(o.key, digest)) for o in anvil.oracles[:2]])
    call = anvil.escrow.functions.settleMilestonePacked(
        settlement.pack(agreement, ms[0], typed_data.milestone_proof(ms, 0), att, sigs)
    )
    send(anvil, call, anvil.relayer.address)

    # the audit: cast only
    escrow, url, topic = anvil.escrow.address, anvil.url, "0x" + agreement_id.hex()
    (settled,) = logs(url, escrow, SETTLED, topic)
    (created,) = logs(url, escrow, CREATED, topic)
    attestation, value, observed_at, evidence, paid_now, holdback, refund = words(settled["data"])
    assert (attestation, signed(value), evidence) == (int.from_bytes(digest, "big"), 9400, int.from_bytes(b"\x07" * 32))
    m = milestone_from_event(created, int(settled["topics"][2], 16))
    assert rulebook_payout(m, signed(value), observed_at) == (paid_now, holdback, refund)
    assert (paid_now, holdback, refund) == (92_610_000_000_000_000_000, 10_290_000_000_000_000_000, 71 * 10**17)

    receipt = json.loads(cast("receipt", "--rpc-url", url, settled["transactionHash"], "--json").stdout)
    transfer = cast("keccak", "Transfer(address,address,uint256)").stdout.strip()
    moved = {
        "0x" + log["topics"][2][-40:]: int(log["data"], 16)
        for log in receipt["logs"]
        if log["topics"][0] == transfer and log["address"].lower() == token.address.lower()
    }
    assert moved == {anvil.provider.address.lower(): paid_now, anvil.client.address.lower(): refund}

    def read(signature: str, *args: str) -> str:
        return cast("call", "--rpc-url", url, escrow, signature, *args).stdout.strip()

    assert read("milestoneStatus(bytes32,uint256)(uint8)", topic, "0") == "2"  # Settled
    assert read("milestoneExtra(bytes32,uint256)(uint256,uint64,bool,bool)", topic, "0").split()[0] == str(holdback)
    beyond = cast(
        "call", "--rpc-url", url, escrow, "milestoneStatus(bytes32,uint256)(uint8)", topic, "200", check=False
    )
    out_of_range = cast("sig", "MilestoneIndexOutOfRange(uint256,uint256)").stdout.strip()
    assert beyond.returncode != 0 and out_of_range in beyond.stderr + beyond.stdout
