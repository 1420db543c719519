"""Deal design in the core: the document and its human units, the terms that leave the provider's
hands, the simulation against the escrow's own formula draw by draw, history fits, lint and the
comparison of structures."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import jsonschema_rs
import numpy as np
import pytest

from attestpay import payout
from attestpay.design import DesignError, analysis, compare, document, history, lint, outcome, simulate, units, wide
from backend.api.schemas import AgreementIn

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "design"
AI = json.loads((EXAMPLES / "ai-implementation.json").read_text())
UNIT = 10**18


def design(**changes) -> document.Design:
    body = copy.deepcopy(AI) | changes
    return document.load(body)


def no_metric_problem(spec: dict) -> None:
    return None


def test_units_read_the_api_form_and_the_human_form():
    assert units.amount("20,000 mUSD", 18, "mUSD", "x") == 20_000 * UNIT
    assert units.amount("0.5 mUSD", 18, "mUSD", "x") == UNIT // 2
    assert units.amount(str(7 * UNIT), 18, "mUSD", "x") == 7 * UNIT
    assert units.amount(12, 18, "mUSD", "x") == 12
    assert units.timestamp("2027-03-01", "x") == 1_803_859_200
    assert units.timestamp("2027-03-01T12:00:00+02:00", "x") == 1_803_859_200 + 10 * 3600
    assert units.duration("30d", "x") == 30 * 86_400 and units.duration(60, "x") == 60
    assert units.display(20_000 * UNIT + UNIT // 2, 18, "mUSD") == "20,000.50 mUSD"
    for bad, reason in (
        ("20,000 USDC", "not in mUSD"),
        ("1.0000000000000000001 mUSD", "more than 18 decimals"),
        ("lots", "neither"),
    ):
        with pytest.raises(DesignError, match=reason):
            units.amount(bad, 18, "mUSD", "milestones.0.amount")
    with pytest.raises(DesignError, match="deadline: 'next spring'"):
        units.timestamp("next spring", "deadline")
    with pytest.raises(DesignError, match="30 days"):
        units.duration("30 days", "cure_window")


def test_a_bad_document_is_refused_naming_the_field():
    body = copy.deepcopy(AI)
    body["milestones"][1]["stretch"] = 9_100  # below the target
    with pytest.raises(DesignError, match=r"milestones\.1: needs floor <= target <= stretch"):
        document.load(body)
    body = copy.deepcopy(AI)
    body["milestones"][0]["roles"]["approves"] = ["Nobody Known"]
    with pytest.raises(DesignError, match=r"milestones\.0\.roles\.approves: Nobody Known"):
        document.load(body)
    body = copy.deepcopy(AI)
    body["milestones"][0]["forecast"]["value"] = {"kind": "triangular", "low": 3, "mode": 1, "high": 2}
    with pytest.raises(DesignError, match=r"milestones\.0\.forecast\.value"):
        document.load(body)
    body["milestones"][0]["forecast"]["value"] = {"kind": "normal", "mean": float("nan"), "sd": 1}
    with pytest.raises(DesignError, match=r"milestones\.0\.forecast\.value\.normal\.mean"):
        document.load(body)


def test_the_terms_leave_out_every_private_and_canvas_field_and_the_api_accepts_them():
    d = design()
    terms = document.terms(d)
    text = json.dumps(terms)
    for private in (
        "private",
        "costs",
        "forecast",
        "data engineers, 3 weeks",
        "9000000000000000000000",
        "stakeholders",
        "value_statement",
    ):
        assert private not in text
    assert set(terms) == set(document.AGREEMENT_TERMS) | {"milestones"}
    assert all(set(m) == set(document.MILESTONE_TERMS) for m in terms["milestones"])
    assert terms["milestones"][0]["amount"] == str(20_000 * UNIT) and terms["cure_window"] == 14 * 86_400
    AgreementIn.model_validate(terms)  # the API's own schema takes them as they are
    shared = json.dumps(document.shareable(d))
    assert "costs" not in shared and "data engineers, 3 weeks" not in shared and "Dana Reyes" in shared


def test_the_schema_file_is_the_documents_schema_and_every_example_follows_it():
    schema = json.loads((ROOT / "docs" / "design.schema.json").read_text())
    assert schema == document.schema()
    validator = jsonschema_rs.validator_for(schema)
    examples = sorted(EXAMPLES.glob("*.json"))
    assert len(examples) == 4 and all(validator.is_valid(json.loads(p.read_text())) for p in examples)
    assert not validator.is_valid(AI | {"design": 2})


def varied_deal() -> simulate.Deal:
    """Every rule at work: 18-decimal amounts beyond int64, lower-is-better, bonus, penalties,
    holdback, reclaim after the cure window, values on both sides of every threshold."""
    body = copy.deepcopy(AI)
    body["milestones"][0]["forecast"] = {
        "value": {"kind": "uniform", "low": 10, "high": 16},
        "delay_days": {"kind": "normal", "mean": 3, "sd": 12},
    }
    body["milestones"][0] |= {
        "amount": "123,456.789012345678901234 mUSD",
        "late_penalty_bps_per_day": 50,
        "max_late_penalty_bps": 700,
    }
    body["milestones"][1]["forecast"] = {
        "value": {"kind": "normal", "mean": 0.92, "sd": 0.03},
        "delay_days": {"kind": "uniform", "low": -2, "high": 20},
    }
    body["milestones"][2] = body["milestones"][2] | {
        "title": "p95 latency",
        "spec": body["milestones"][2]["spec"] | {"unit": "ms", "higher_is_better": False, "decimals": 1},
        "floor": 5000,
        "target": 3000,
        "stretch": 2000,
        "bonus": "3,333.333333333333333333 mUSD",
        "floor_payout_bps": 3333,
        "late_penalty_bps_per_day": 77,
        "max_late_penalty_bps": 2500,
        "holdback_bps": 777,
        "holdback_period": "45d",
        "forecast": {
            "value": {"kind": "triangular", "low": 150, "mode": 300, "high": 600},
            "delay_days": {"kind": "triangular", "low": -10, "mode": 2, "high": 40},
        },
    }
    return analysis.deal(document.load(body), [])[0]


def test_each_draw_pays_exactly_what_attestpay_payout_computes():
    deal = varied_deal()
    draws = simulate.draw(deal, 4_000, seed=7)
    compared = reclaimed = 0
    for d in draws:
        m, full = d.plan.terms, d.plan.terms.amount + d.plan.terms.bonus
        assert d.keys > 20  # many distinct outcomes, not one case repeated
        for i in range(len(d.key)):
            figures = {name: d.figure(name, i) for name in simulate.FIGURES}
            assert figures["paid_now"] + figures["holdback"] + figures["refund"] == full
            if d.reclaimed[i]:
                assert d.seconds_late[i] > deal.cure_window and figures["refund"] == full
                reclaimed += 1
                continue
            p = payout.compute(m, d.value(i), d.observed_at(i))
            assert (p.paid_now, p.holdback, p.refund, p.penalty, p.net, p.bonus_earned) == (
                figures["paid_now"],
                figures["holdback"],
                figures["refund"],
                figures["penalty"],
                figures["paid"],
                figures["bonus_earned"],
            ), (d.plan.title, i)
            compared += 1
    assert compared > 8_000 and reclaimed > 50


def test_the_summary_holds_the_invariant_ordered_quantiles_and_bands_that_sum_to_one():
    result = outcome.run(varied_deal(), 5_000, seed=3)

    def ordered(stats):
        assert int(stats["p10"]) <= int(stats["p50"]) <= int(stats["p90"])

    for m in result["milestones"]:
        assert sum(m["bands"].values()) == pytest.approx(1.0, abs=1e-9)
        assert all(m["bands"][b] > 0 for b in ("below_floor", "partial", "late"))
        for name in simulate.FIGURES:
            ordered(m[name])
        assert int(m["paid"]["mean"]) + int(m["refund"]["mean"]) in range(
            int(m["amount"]) + int(m["bonus"]) - 1, int(m["amount"]) + int(m["bonus"]) + 1
        )
    assert sum(result["total"]["outcomes"].values()) == pytest.approx(1.0, abs=1e-9)
    for name in simulate.FIGURES:
        ordered(result["total"][name])
    ordered(result["provider"]["margin"])
    for month in result["cash_flow"]:
        ordered(month["client"])
        ordered(month["provider"])
    for month in result["client"]["locked"]:
        ordered(month)
        assert 0 <= int(month["p10"]) <= int(result["client"]["max_exposure"])
    # the client funds everything in the first month; nothing is locked once all has settled and been released
    assert int(result["cash_flow"][0]["client"]["p90"]) < 0
    assert result["client"]["locked"][-1]["p90"] == "0"


def test_wide_quantiles_and_sums_are_exact_even_between_near_equal_values():
    rng = random.Random(5)
    base = 10**24
    values = [base + rng.randrange(-(10**6), 10**6) for _ in range(3_000)] + [
        rng.randrange(0, 2**100) for _ in range(500)
    ]
    values += [-v for v in values[:200]]
    a = wide.split(values)
    ordered = sorted(values)
    for q, got in zip((0.1, 0.5, 0.9, 1.0), wide.quantiles(a, (0.1, 0.5, 0.9, 1.0)), strict=True):
        assert got == ordered[max(0, -(-int(q * len(values) * 1000) // 1000) - 1)]
    assert wide.total(a) == sum(values)
    weights = np.array([rng.randrange(0, 100_000) for _ in values])
    assert wide.weighted_total(a, weights) == sum(v * int(w) for v, w in zip(values, weights, strict=True))
    assert [wide.to_int(r) for r in wide.div_small(wide.times_small(wide.split(values[:100]), 9_999), 10_000)] == [
        v * 9_999 // 10_000 for v in values[:100]
    ]


SAMPLE = (EXAMPLES / "past-projects.csv").read_text()


def test_history_fits_from_past_projects_and_refuses_too_few_points():
    points = history.from_csv(SAMPLE, "past-projects.csv")
    f = history.fit(points, "accuracy")
    assert f.points == 7 and 0.9 < f.achievement["p50"] < 1.1 and f.days_late["p10"] <= f.days_late["p90"]
    with pytest.raises(DesignError, match=r"2 point\(s\) for metric kind 'stores', at least 5"):
        history.fit(points, "stores")
    body = copy.deepcopy(AI)
    body["milestones"][1]["forecast"] = {
        "value": {"kind": "history"},
        "delay_days": {"kind": "history", "shape": "normal"},
    }
    d = document.load(body)
    deal, fits = analysis.deal(d, points)
    value, delay = deal.plans[1].value, deal.plans[1].delay
    assert value.kind == "empirical" and len(value.samples) == f.points
    assert value.samples[0] == pytest.approx(0.92 * points[[p.kind for p in points].index("accuracy")].achievement)
    assert delay.kind == "normal" and delay.mean == f.days_late["mean"]
    assert [(x["milestone"], x["forecast"], x["points"]) for x in fits] == [
        (1, "value", f.points),
        (1, "delay_days", f.points),
    ]
    with pytest.raises(DesignError, match="0 point"):
        analysis.deal(d, [])


def test_a_malformed_history_line_is_named():
    with pytest.raises(DesignError, match="line 3"):
        history.from_csv(
            SAMPLE.splitlines()[0] + "\n" + SAMPLE.splitlines()[1] + "\np,m,accuracy,maybe,1,1,2026-01-01,2026-01-02,\n"
        )
    with pytest.raises(DesignError, match="missing column"):
        history.from_csv("project,target\nx,1\n")


def codes(findings, milestone=None):
    return {f["code"] for f in findings if milestone is None or f["milestone"] == milestone}


def test_lint_names_what_the_canvas_warns_against():
    body = copy.deepcopy(AI)
    body["milestones"][0]["spec"] = {k: v for k, v in body["milestones"][0]["spec"].items() if k != "source"}
    body["milestones"][1]["forecast"]["value"] = {"kind": "fixed", "value": 0.99}  # target certain
    body["milestones"][1]["private"]["costs"].append({"amount": "60,000 mUSD", "incurred": "2027-01-02"})
    body["milestones"][2]["forecast"] = {"value": {"kind": "uniform", "low": 0, "high": 51}}  # floor barely reached
    extra = copy.deepcopy(body["milestones"][0]) | {"title": "Kick-off slides", "amount": "100 mUSD"}
    body["milestones"] += [extra] * 6
    body["lint"] = {"max_milestones": 8}
    body["cure_window"] = 0
    d = document.load(body)
    found = analysis.check(d, [], no_metric_problem, draws=2_000)["findings"]
    messages = " | ".join(f["message"] for f in found)
    assert "too-many-milestones" in codes(found)
    assert {"unmeasurable-metric", "small-milestone"} <= codes(found, 3)
    assert "'pipelines reconciled'" in messages
    assert "near-certain-target" in codes(found, 1)
    assert {"one-sided-source", "near-impossible-floor", "unprotected-risk"} <= codes(found, 2)
    assert "'traffic on the new model'" in messages and "only the client controls" in messages
    assert "cash-gap" in codes(found) and "2027-01-02" in messages
    clean = analysis.check(design(), [], no_metric_problem, draws=2_000)["findings"]
    assert not codes(clean) & {
        "too-many-milestones",
        "small-milestone",
        "unmeasurable-metric",
        "cash-gap",
        "near-certain-target",
    }


def test_lint_passes_on_the_oracles_view_of_a_metric():
    d = design()
    found = lint.lint(
        d, *_drawn(d), lambda spec: "unknown source kind" if spec["name"] == "fraud model accuracy" else None, []
    )
    assert [f["milestone"] for f in found if f["code"] == "unmeasurable-metric"] == [1]


def _drawn(d):
    deal, _ = analysis.deal(d, [])
    return deal, simulate.draw(deal, 1_000, 1)


def test_compare_shows_who_bears_under_delivery_in_each_structure():
    body = copy.deepcopy(AI)
    body["milestones"][2]["forecast"]["delay_days"] = {
        "kind": "uniform",
        "low": -5,
        "high": 30,
    }  # beyond the cure window too
    rows = {r["name"]: r for r in analysis.compare(document.load(body), [], draws=3_000)["structures"]}
    assert {"as designed", "flat fee", "pure milestones", "no holdback", "holdback 10%", "floor pays nothing"} <= set(
        rows
    )
    flat, pure, designed = rows["flat fee"], rows["pure milestones"], rows["as designed"]
    assert flat["risk"]["provider_bears"] == "0" and flat["client_refund"]["p90"] == "0"
    assert int(flat["risk"]["client_bears"]) > 0
    assert pure["penalty"]["p90"] == "0" and int(pure["client_refund"]["mean"]) > 0  # reclaimed when too late
    assert 0 < designed["risk"]["provider_share"] < 1
    assert rows["floor pays nothing"]["risk"]["provider_share"] >= designed["risk"]["provider_share"]
    assert rows["no holdback"]["provider_paid"] == designed["provider_paid"]


def test_a_designs_own_alternative_is_compared_and_a_bad_one_refused():
    d = design(
        alternatives=[
            {"name": "steeper lateness", "changes": {"late_penalty_bps_per_day": 300, "max_late_penalty_bps": 3000}}
        ]
    )
    rows = analysis.compare(d, [], draws=1_000)["structures"]
    assert rows[-1]["name"] == "steeper lateness"
    with pytest.raises(DesignError, match="amount"):
        deal, _ = analysis.deal(d, [])
        compare._changes(deal, {"amount": 5}, "x")
