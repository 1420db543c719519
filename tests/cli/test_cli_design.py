"""`attestpay design`: the four example designs checked, simulated and compared from the command
line; the canvas report as HTML and PDF (with and without the provider's private figures);
forecasts fitted from a CSV of past projects; bad input as one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from attestpay_cli.main import app
from backend.api.schemas import AgreementIn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "design"
DESIGNS = sorted(EXAMPLES.glob("*.json"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["design", *args])
    return result.exit_code, result.stdout, result.stderr


def ordered(stats: dict) -> None:
    assert int(stats["p10"]) <= int(stats["p50"]) <= int(stats["p90"])


def test_there_is_an_example_design_for_each_demo_scenario():
    assert [p.stem for p in DESIGNS] == ["ai-implementation", "custom-software", "marketing-agency", "saas-onboarding"]


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.stem)
def test_each_example_checks_simulates_and_compares(path: Path):
    code, out, _ = run("check", str(path), "--json", "--draws", "2000")
    assert code == 0, out
    assert {f["level"] for f in json.loads(out)["findings"]} <= {"warning", "info"}

    code, out, _ = run("simulate", str(path), "--json", "--draws", "2000")
    assert code == 0, out
    result = json.loads(out)
    for m in result["milestones"]:
        assert sum(m["bands"].values()) == pytest.approx(1.0, abs=1e-9)
        for figure in ("paid_now", "paid", "refund", "penalty"):
            ordered(m[figure])
    assert sum(result["total"]["outcomes"].values()) == pytest.approx(1.0, abs=1e-9)
    ordered(result["provider"]["margin"])
    for month in result["cash_flow"]:
        ordered(month["client"])
        ordered(month["provider"])

    code, out, _ = run("compare", str(path), "--json", "--draws", "1000")
    assert code == 0, out
    names = [s["name"] for s in json.loads(out)["structures"]]
    assert names[:3] == ["as designed", "flat fee", "pure milestones"]

    code, out, _ = run("simulate", str(path), "--draws", "1000")
    assert code == 0 and "provider paid now" in out and "client's maximum exposure" in out


def test_the_terms_are_what_the_api_takes_with_nothing_private():
    code, out, _ = run("terms", str(EXAMPLES / "ai-implementation.json"))
    assert code == 0
    AgreementIn.model_validate_json(out)
    assert "costs" not in out and "forecast" not in out and "stakeholders" not in out


def test_the_canvas_report_as_html_and_pdf_and_the_counterpartys_copy(tmp_path: Path):
    design = str(EXAMPLES / "ai-implementation.json")
    code, _, err = run(
        "check", design, "--draws", "1000", "--html", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf")
    )
    assert code == 0 and "wrote" in err
    page = (tmp_path / "r.html").read_text()
    for heading in (
        "1. Stakeholders",
        "2. Value by milestone",
        "3. Metrics",
        "4. Billing",
        "5. Key activities",
        "6. Costs and risk",
        "7. Review",
    ):
        assert heading in page
    assert "Dana Reyes" in page and "data engineers, 3 weeks" in page and "provider&#x27;s margin" in page
    assert "20,000.00 mUSD" in page and "2027-03-22" in page and "Client Northwind Bank (0x70997970" in page
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    code, _, _ = run("simulate", design, "--draws", "1000", "--counterparty", "--html", str(tmp_path / "c.html"))
    shared = (tmp_path / "c.html").read_text()
    assert code == 0 and "data engineers, 3 weeks" not in shared and "9,000.00 mUSD" not in shared
    assert "provider&#x27;s margin" not in shared and "provider&#x27;s costs" not in shared
    assert "counterparty" in shared


def test_forecasts_fitted_from_past_projects(tmp_path: Path):
    body = json.loads((EXAMPLES / "ai-implementation.json").read_text())
    body["milestones"][1]["forecast"] = {"value": {"kind": "history"}, "delay_days": {"kind": "history"}}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(body))
    code, out, _ = run("simulate", str(path), "--history", str(EXAMPLES / "past-projects.csv"), "--draws", "1000")
    assert code == 0 and "fitted on 7 past 'accuracy' milestones" in out
    code, out, err = run("simulate", str(path), "--draws", "1000")
    assert code == 2 and "0 point(s) for metric kind 'accuracy', at least 5 are needed" in err


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "Invalid JSON"),
        ('{"design": 1}', "title: Field required"),
        (None, "cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: str | None, reason: str):
    path = tmp_path / "d.json"
    if content is not None:
        path.write_text(content)
    code, _, err = run("check", str(path))
    assert code == 2 and reason in err and len(err.strip().splitlines()) == 1
