"""The benchmarks' summary: reads every bench/results/*.json the benchmarks just wrote, prints one
table of the headline figures with their comparisons (ratios measured in the same run) and
writes docs/benchmarks.md with the method and the machine. Run last by `make bench`."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"

METHOD = """\
Every figure below was measured by `make bench` on the machine described, each comparison in the
same run as the figure it is compared with. Gas is whole-transaction gas (the receipt's gasUsed,
21,000 base and calldata included) on the embedded chain (eth-tester, py-evm, Prague). The
benchmarks, their cases and their rules:

| benchmark | script | what it runs |
| --- | --- | --- |
| gas | `scripts/bench_gas.py` | every money path of the escrow in steady state (the escrow and provider already \
hold the token) |
| peers and growth | `scripts/bench_peers.py` | the floors (an ERC-20 transfer, an ether transfer, one ecrecover); \
the Ethereum Attestation Service, Sablier Lockup tranched streams and UMA's Optimistic Oracle v3, each deployed on \
anvil from its npm package's compiled artifacts (scripts/peer_contracts.py); settlement gas with 1, 10 and 100 \
milestones and after 100 and 10,000 agreements |
| oracle | `scripts/bench_oracle.py` | attestation signature verification (the oracle's own verifier, 1 and 2 \
cores) and signing, beside plain eth-account's recover |
| API | `scripts/bench_api.py` | 50 concurrent clients against uvicorn on PostgreSQL: reads alternating with a \
bare FastAPI endpoint served by the same processes (three rounds each), writes, attestation intake; reads of \
agreements with 1, 10 and 100 milestones; reads, writes and intake again once 10,000 agreements exist |
| chain engine | `scripts/bench_chain.py` | anvil with 1-second blocks, an API process and 2 workers on \
PostgreSQL: intake to confirmed settlement, settlements per minute, indexer catch-up |
| auditor | `scripts/bench_auditor.py` | the independent audit of 1,000 settlements over JSON-RPC |
| deal design | `scripts/bench_design.py` | the exact Monte Carlo of a 10-milestone deal, 100,000 draws \
summarised for both parties, one core |

The peers run their real published bytecode on the same anvil as our contracts, in steady state (the
first stream, attestation or assertion is sent and not counted), with the bench token:
- Sablier Lockup 4.0.1: `createWithTimestampsLT` of 3 tranches of 100 tokens 30 days apart (cancelable,
  not transferable), then the recipient's `withdraw` of the first tranche once unlocked. Its comptroller
  is deployed without a proxy, so every protocol fee is zero and withdraw reads no price feed; a live
  deployment with a fee adds a Chainlink read and an ether transfer. `@sablier/lockup` is not an npm
  dependency: `npm install` fails on it (its dependencies reference GitHub, and `@sablier/evm-utils`'s
  postinstall script expects a nested forge-std), so `make install` takes the two registry tarballs with
  `npm pack`, checks them against the integrity in `bench/npm-tarballs.lock` and unpacks them into
  `build/peers` (only the compiled artifacts are used).
- UMA Optimistic Oracle v3 (`@uma/contracts-node` 0.4.28): `assertTruth` with the minimum bond (twice
  the Store's final fee of 250 tokens), the default 2-hour liveness, no callback recipient and no
  escalation manager, then `settleAssertion` after the liveness, undisputed. The Finder names the real
  Store and whitelists; its Oracle entry, read only on a dispute, is a plain address.
- Ratios: Sablier's create against our create-and-fund of 3 milestones, Sablier's withdraw and UMA's
  assert + settle against our settlement with one oracle signature, all from the same run.
"""


def _load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def rows() -> list[tuple[str, str, str]]:
    gas, peers, oracle, api, chain, auditor = (_load(n) for n in ("gas", "peers", "oracle", "api", "chain", "auditor"))
    design = _load("design")
    out: list[tuple[str, str, str]] = []
    if gas:
        out += [
            ("create and fund 3 milestones (ERC-20)", f"{gas['create_fund_3_erc20']:,} gas", ""),
            ("settle, 1 signature (ERC-20)", f"{gas['settle_1sig_erc20']:,} gas", ""),
            ("each extra oracle signature", f"{gas['settle_2of3_erc20'] - gas['settle_1sig_erc20']:,} gas", ""),
            ("full cycle of 3 milestones (ERC-20)", f"{gas['full_cycle_3_erc20']:,} gas", ""),
        ]
    if peers:
        g, q = peers["gas"], peers["ratios"]
        out += [
            (
                "settle vs the floor sum (ERC-20 transfer + ecrecover)",
                f"{g['settle_1sig_erc20']:,} gas",
                f"{q['settle_vs_floor_sum']}x",
            ),
            (
                "anchoring, per attestation (batch of 1,024)",
                f"{g['anchor_batch_1024'] / 1024:,.0f} gas",
                f"EAS attest {q['eas_attest_vs_our_anchoring_per_attestation']}x, multiAttest "
                f"{q['eas_multiattest_vs_our_anchoring_per_attestation']}x, "
                f"multiTimestamp {q['eas_multitimestamp_vs_our_anchoring_per_attestation']}x ours",
            ),
            (
                "Sablier Lockup: create a stream of 3 tranches",
                f"{g['sablier_create_3_tranches']:,} gas",
                f"{q['sablier_create_3_tranches_vs_our_create_fund_3']}x our create and fund of 3 milestones "
                f"({g['create_fund_3_erc20']:,} gas)",
            ),
            (
                "Sablier Lockup: withdraw a tranche",
                f"{g['sablier_withdraw_tranche']:,} gas",
                f"{q['sablier_withdraw_vs_our_settle']}x our settlement",
            ),
            (
                "UMA OOv3: assertTruth + settleAssertion",
                f"{g['uma_assert_truth']:,} + {g['uma_settle_assertion']:,} gas",
                f"{q['uma_assert_and_settle_vs_our_settle']}x our settlement",
            ),
            (
                "settle with 1 → 100 milestones",
                f"{g['settle_with_1_milestones']:,} → {g['settle_with_100_milestones']:,} gas",
                f"x{q['settle_growth_1_to_100_milestones']}",
            ),
            (
                "settle after 100 → 10,000 agreements",
                f"{g['settle_after_100_agreements']:,} → {g['settle_after_10000_agreements']:,} gas",
                f"x{q['settle_growth_100_to_10000_agreements']}",
            ),
        ]
    if oracle:
        out += [
            (
                "attestation verification, 1 core",
                f"{oracle['verify_per_s_1core']:,}/s",
                f"{oracle['verify_per_s_1core'] / oracle['plain_verify_per_s']:.1f}x plain eth-account",
            ),
            (
                "attestation signing",
                f"{oracle['sign_per_s']:,}/s",
                f"{oracle['sign_per_s'] / oracle['plain_sign_per_s']:.1f}x plain eth-account"
                if "plain_sign_per_s" in oracle
                else "",
            ),
        ]
    if api:
        out += [
            (
                "API reads",
                f"{api['reads_per_s']:,}/s, p99 {api['read_p99_ms']} ms",
                f"{api['reads_vs_bare']:.0%} of the bare endpoint ({api['bare_per_s']:,}/s)",
            ),
            ("API writes", f"{api['writes_per_s']:,}/s, p99 {api['write_p99_ms']} ms", ""),
            ("attestation intake", f"{api['intake_per_s']:,}/s, p99 {api['intake_p99_ms']} ms", ""),
        ]
        for name, key, label in (
            ("reads", "read", "API reads"),
            ("writes", "write", "API writes"),
            ("intake", "intake", "attestation intake"),
        ):
            if f"{key}_p50_ms_at_10000_agreements" in api:
                out.append(
                    (
                        f"{label} with 100 → 10,000 agreements",
                        f"p50 {api[f'{key}_p50_ms']} → {api[f'{key}_p50_ms_at_10000_agreements']} ms, "
                        f"{api[f'{name}_per_s']:,} → {api[f'{name}_per_s_at_10000_agreements']:,}/s",
                        f"p50 x{api[f'{key}_p50_growth_100_to_10000_agreements']}",
                    )
                )
        if "read_p50_ms_with_100_milestones" in api:
            out.append(
                (
                    "API reads with 1 → 10 → 100 milestones",
                    " → ".join(f"p50 {api[f'read_p50_ms_with_{n}_milestones']} ms" for n in (1, 10, 100)),
                    " → ".join(f"{api[f'reads_per_s_with_{n}_milestones']:,}/s" for n in (1, 10, 100)),
                )
            )
    if chain:
        out += [
            ("intake to confirmed settlement", f"{chain['intake_to_settled_blocks']} block(s)", "1-second blocks"),
            ("settlements sustained", f"{chain['settlements_per_min']:,}/min", f"{chain['workers']} workers"),
            (
                "indexer catch-up",
                f"{chain['indexer_blocks_per_s']:,} blocks/s",
                f"over {chain['indexer_blocks']:,} blocks",
            ),
        ]
    if auditor:
        out.append(
            (
                "independent audit",
                f"{auditor['settlements_verified_per_s']:,} settlements/s",
                f"over {auditor['settlements']:,} settlements",
            )
        )
    if design:
        out.append(
            (
                "deal design simulation",
                f"{design['design_draws_per_s']:,} draws/s",
                f"{design['milestones']} milestones, {design['draws']:,} draws in {design['seconds']} s "
                f"({design['cpu_seconds']} s CPU)",
            )
        )
    return out


def machine() -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() or "absent"
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, "
        f"Node {node}; load generators and servers share the machine"
    )


def main() -> None:
    table = ["| figure | measured | compared in the same run |", "| --- | ---: | --- |"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows()]
    print("\n".join(table))
    DOC.write_text(
        f"# Benchmarks\n\nMeasured {datetime.now(UTC):%Y-%m-%d} on {machine()}.\n\n"
        + "\n".join(table)
        + "\n\n## Method\n\n"
        + METHOD
        + "\nThe raw figures are in `bench/results/*.json`.\n"
    )
    print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
