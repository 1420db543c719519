"""The three questions a designer asks of a deal, from one document: is it sound (`check`), what
will it pay each party (`simulate`), and how does it compare with other structures (`compare`)."""

from __future__ import annotations

from attestpay.design import compare as structures, history, lint, outcome, simulate
from attestpay.design.document import Design
from attestpay.design.history import Point
from attestpay.design.lint import MetricCheck
from attestpay.design.simulate import SimulatedDeal

DRAWS = 20_000
SEED = 23


def deal(design: Design, points: list[Point], private: bool = True) -> tuple[SimulatedDeal, list[dict]]:
    """The deal to simulate, its `history` forecasts fitted; and the fits. `private=False`: without
    the provider's costs (figures fit for the counterparty's eyes)."""
    forecasts, fits = history.forecasts(design, points)
    d = SimulatedDeal.from_design(design, forecasts)
    return (d if private else d.without_costs()), fits


def check(
    design: Design, points: list[Point], metric_problem: MetricCheck, draws: int = DRAWS, seed: int = SEED
) -> dict:
    d, fits = deal(design, points)
    findings = lint.lint(design, d, simulate.draw(d, draws, seed), metric_problem, fits)
    return {"title": design.title, "findings": findings, "fits": fits}


def run(design: Design, points: list[Point], draws: int = DRAWS, seed: int = SEED, private: bool = True) -> dict:
    d, fits = deal(design, points, private)
    return outcome.run(d, draws, seed) | {"fits": fits}


def compare(design: Design, points: list[Point], draws: int = DRAWS, seed: int = SEED, private: bool = True) -> dict:
    d, fits = deal(design, points, private)
    return {
        "title": design.title,
        "token": {"symbol": d.token.symbol, "decimals": d.token.decimals},
        "draws": draws,
        "structures": structures.compare(design, d, draws, seed),
        "fits": fits,
    }
