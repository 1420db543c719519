"""SimulatedDeal-design benchmark: the Monte Carlo of a 10-milestone deal (the AI example's three kinds of
milestone repeated with their deadlines spread over ten months: continuous accuracy, counts,
shares; bonus, penalties, holdback, reclaims), 100,000 draws summarised for both parties (every
quantile, band, margin and monthly cash-flow figure, exact), pinned to one core; best of three.
Target: under 1 s, i.e. design_draws_per_s above 100,000 (wall clock; the CPU time is beside it,
for a machine shared with other work). Writes bench/results/design.json."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

from bench_support import write_results

from attestpay.design import analysis, document, outcome, simulate

ROOT = Path(__file__).resolve().parent.parent
DRAWS, MILESTONES, ROUNDS = 100_000, 10, 3


def ten_milestones() -> document.Design:
    body = json.loads((ROOT / "examples" / "design" / "ai-implementation.json").read_text())
    kinds = body["milestones"]
    body["milestones"] = []
    for i in range(MILESTONES):
        m = copy.deepcopy(kinds[i % len(kinds)])
        m["title"] = f"{m['title']} (phase {i + 1})"
        m["deadline"] = f"2027-{3 + i:02d}-25" if i < 10 else m["deadline"]
        for cost in m["private"]["costs"]:
            cost["incurred"] = f"2027-{3 + i:02d}-05"
        body["milestones"].append(m)
    return document.load(body)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    deal, _ = analysis.deal(ten_milestones(), [])
    best = cpu = float("inf")
    for seed in range(ROUNDS):
        started, used = time.perf_counter(), time.process_time()
        result = outcome.summarise(deal, simulate.draw(deal, DRAWS, seed), seed)
        best, cpu = min(best, time.perf_counter() - started), min(cpu, time.process_time() - used)
    figures = {
        "draws": DRAWS,
        "milestones": MILESTONES,
        "months": len(result["cash_flow"]),
        "seconds": round(best, 3),
        "cpu_seconds": round(cpu, 3),
        "design_draws_per_s": int(DRAWS / best),
        "design_draws_per_cpu_s": int(DRAWS / cpu),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cores": 1,
    }
    write_results("design", figures)


if __name__ == "__main__":
    main()
