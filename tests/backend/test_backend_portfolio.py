"""Portfolio analytics over a real history: one milestone settled on time past its stretch, one
settled late, one open with a result below target; the figures follow the definitions in
docs/backend.md, each recomputed here from the payout module."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from factories import DAY, agreement_body, milestone

from attestpay import payout

ETH = "0x" + "0" * 40


def day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def test_rates_lateness_achievement_risk_and_cash_flow(api):
    chain = api.chain
    body = agreement_body(chain, milestones=3)
    body["milestones"][1]["deadline"] = chain.now() + 5 * DAY
    agreement, client, provider = api.consented(body)
    pk, oracle = agreement["id"], api.api_key("oracle-node", "oracle")
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))

    on_time = api.push(oracle, agreement, 0, 9700, chain.oracles[:2])
    api.settle(chain.provider, provider, pk, 0, on_time["digest"])
    chain.warp(body["milestones"][1]["deadline"] + 2 * DAY + 60)
    late = api.push(oracle, agreement, 1, 9400, chain.oracles[:2])
    api.settle(chain.provider, provider, pk, 1, late["digest"])
    below = api.push(oracle, agreement, 2, 8500, chain.oracles[:2])

    report = api.client.get("/v1/reports/portfolio", headers=client).json()
    days_late = payout.days_late(body["milestones"][1]["deadline"], late["observed_at"])
    assert days_late == 3
    assert (
        report["funded_agreements"],
        report["milestones"],
        report["milestones_due"],
        report["milestones_settled"],
    ) == (1, 3, 2, 2)
    assert (report["completion_rate"], report["on_time_rate"], report["average_days_late"]) == (1.0, 0.5, 1.5)
    assert report["average_achievement"] == round((9700 / 9200 + 9400 / 9200) / 2, 4)
    assert report["funds_at_risk"] == {ETH: str(110 * 10**18)}  # open, and the latest result misses the target
    assert report["funds_at_risk_display"] == {ETH: "110 ETH"}

    m2 = replace(milestone(chain), deadline=body["milestones"][2]["deadline"])
    expected = payout.compute(m2, 8500, chain.now())
    assert expected.paid_now == 70_830_000_000_000_000_000  # 7083 bps: 50% + 500/1200 of the other 50%, floored
    by_date = {row["date"]: row for row in report["cash_flow"]}
    assert by_date[day(chain.now())] == {
        "date": day(chain.now()),
        "token": ETH,
        "best": "0",
        "expected": str(expected.paid_now),
        "worst": "0",
        "best_display": "0 ETH",
        "expected_display": "70.83 ETH",
        "worst_display": "0 ETH",
    }
    assert by_date[day(m2.deadline)] == {
        "date": day(m2.deadline),
        "token": ETH,
        "best": str(110 * 10**18),
        "expected": "0",
        "worst": "0",
        "best_display": "110 ETH",
        "expected_display": "0 ETH",
        "worst_display": "0 ETH",
    }
    assert below["meets_target"] is False

    assert api.client.get("/v1/reports/portfolio", headers=api.sign_in(chain.relayer)).json()["milestones"] == 0
    assert api.client.get("/v1/reports/portfolio", headers=api.api_key("auditor", "auditor")).json()["milestones"] == 3
