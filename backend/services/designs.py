"""SimulatedDeal design for a caller: the design checked, simulated and compared with the portfolio's own
settled milestones (the ones the caller may read) as history, plus a CSV of past projects if the
caller gives one; and the terms to propose, nothing private in them. Nothing is stored."""

from __future__ import annotations

from sqlalchemy.orm import Session

from attestpay.design import DesignError, analysis, document, history, report
from backend.domain.design import history_points, metric_problem
from backend.errors import InvalidInput
from backend.services import agreements
from backend.services.auth import Principal


def evaluate(
    session: Session, principal: Principal, body: dict, draws: int, seed: int, history_csv: str | None, private: bool
) -> dict:
    """Findings, simulation, comparison and the proposable terms of one design."""
    try:
        design = document.load(body)
        points = history_points(agreements.visible(session, principal))
        if history_csv:
            points += history.from_csv(history_csv, "history_csv")
        return {
            "check": analysis.check(design, points, metric_problem, draws, seed),
            "simulation": analysis.run(design, points, draws, seed, private),
            "comparison": analysis.compare(design, points, min(draws, 10_000), seed, private),
            "terms": document.terms(design),
            "history_points": len(points),
        }
    except DesignError as exc:
        raise InvalidInput(f"design: {exc}") from None


def report_html(evaluated: dict, body: dict, private: bool) -> str:
    design = document.load(body)
    return report.as_html(
        report.sections(design, evaluated["check"], evaluated["simulation"], evaluated["comparison"], private)
    )
