"""POST /v1/designs/evaluate and /report: a design checked, simulated and compared on the real app
and database, history from the caller's own settled milestones and a CSV; the terms it returns
create a draft through the ordinary API with nothing private in it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from factories import agreement_body

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "design"
AI = json.loads((EXAMPLES / "ai-implementation.json").read_text())


def design_for(chain) -> dict:
    """The example design between the test chain's parties, paid in ether."""
    body = agreement_body(chain)
    design = copy.deepcopy(AI) | {k: body[k] for k in ("client", "provider", "arbiter", "oracles", "token")}
    return design | {
        "token_units": {"symbol": "ETH", "decimals": 18},
        "milestones": [
            m
            | {
                "amount": m["amount"].replace("mUSD", "ETH"),
                **({"bonus": m["bonus"].replace("mUSD", "ETH")} if "bonus" in m else {}),
                "private": {
                    "costs": [c | {"amount": c["amount"].replace("mUSD", "ETH")} for c in m["private"]["costs"]]
                },
            }
            for m in copy.deepcopy(AI)["milestones"]
        ],
    }


def test_a_design_is_evaluated_and_its_terms_proposed_without_private_fields(api):
    chain = api.chain
    provider = api.sign_in(chain.provider)
    design = design_for(chain)
    answer = api.client.post("/v1/designs/evaluate", json={"design": design, "draws": 2_000}, headers=provider)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert {"check", "simulation", "comparison", "terms"} <= set(result)
    assert result["history_points"] == 0
    assert any(f["code"] == "one-sided-source" for f in result["check"]["findings"])
    simulation = result["simulation"]
    assert simulation["draws"] == 2_000 and simulation["provider"]["costs"] == str(43_000 * 10**18)
    for m in simulation["milestones"]:
        assert abs(sum(m["bands"].values()) - 1) < 1e-9
        assert int(m["paid"]["p10"]) <= int(m["paid"]["p50"]) <= int(m["paid"]["p90"])
    assert [s["name"] for s in result["comparison"]["structures"]][:2] == ["as designed", "flat fee"]

    terms = result["terms"]
    assert "private" not in json.dumps(terms) and "forecast" not in json.dumps(terms)
    created = api.client.post("/v1/agreements", json=terms, headers=provider)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft" and [m["amount"] for m in draft["milestones"]] == [
        str(20_000 * 10**18),
        str(50_000 * 10**18),
        str(30_000 * 10**18),
    ]

    shared = api.client.post(
        "/v1/designs/evaluate", json={"design": design, "draws": 500, "counterparty": True}, headers=provider
    ).json()
    assert shared["simulation"]["provider"]["costs"] == "0"

    page = api.client.post("/v1/designs/report", json={"design": design, "draws": 500}, headers=provider)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "6. Costs and risk allocation" in page.text


def test_history_comes_from_the_portfolio_and_a_csv_and_too_little_is_refused(api):
    chain = api.chain
    client = api.sign_in(chain.client)
    design = design_for(chain)
    design["milestones"][1]["forecast"] = {"value": {"kind": "history"}, "delay_days": {"kind": "history"}}
    refused = api.client.post("/v1/designs/evaluate", json={"design": design, "draws": 500}, headers=client)
    assert refused.status_code == 422
    assert "0 point(s) for metric kind 'accuracy', at least 5 are needed" in refused.json()["detail"]

    csv = (EXAMPLES / "past-projects.csv").read_text()
    fitted = api.client.post(
        "/v1/designs/evaluate", json={"design": design, "draws": 500, "history_csv": csv}, headers=client
    ).json()
    assert [(f["milestone"], f["forecast"], f["points"]) for f in fitted["simulation"]["fits"]] == [
        (1, "value", 7),
        (1, "delay_days", 7),
    ]


def test_bad_designs_are_refused_with_the_field_named(api):
    client = api.sign_in(api.chain.client)
    for design, reason in (
        ({"design": 1}, "design: title: Field required"),
        (design_for(api.chain) | {"start": "soon"}, "design: start: 'soon'"),
    ):
        answer = api.client.post("/v1/designs/evaluate", json={"design": design, "draws": 500}, headers=client)
        assert answer.status_code == 422 and reason in answer.json()["detail"], answer.text
    too_many = api.client.post("/v1/designs/evaluate", json={"design": {}, "draws": 10**7}, headers=client)
    assert too_many.status_code == 422


def test_settled_milestones_become_history_points_by_metric_kind():
    from backend.db.models import Agreement, MilestoneRecord
    from backend.domain.design import history_points

    def milestone(index, status, value, late_seconds, unit="accuracy", higher=True):
        return MilestoneRecord(
            index=index,
            spec={"unit": unit},
            target=9200,
            deadline=1_000_000,
            higher_is_better=higher,
            status=status,
            settled_value=value,
            settled_observed_at=None if value is None else 1_000_000 + late_seconds,
        )

    a = Agreement(
        id=7,
        milestones=[
            milestone(0, "settled", 9660, -86_400),
            milestone(1, "open", None, 0),
            milestone(2, "settled", 250, 3 * 86_400, "ms", False),
        ],
    )
    points = history_points([a])
    assert [(p.kind, p.source) for p in points] == [
        ("accuracy", "agreement 7 milestone 0"),
        ("ms", "agreement 7 milestone 2"),
    ]
    assert points[0].achievement == 9660 / 9200 and points[0].days_late == -1.0
    assert points[1].achievement == 9200 / 250 and points[1].days_late == 3.0
