"""`attestpay design check|simulate|compare FILE`: a deal design (docs/design.md) judged before
anyone signs: the canvas's Do / Don't as findings, the payout simulated for both parties, the
structure beside alternatives. `terms FILE` prints what may go to the counterparty (no private
field); `schema` the document's JSON Schema. Human output by default, `--json` for scripts;
`--html OUT` / `--pdf OUT` write the canvas report. A bad file or option: one line, exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from attestpay.design import DesignError, analysis, document, history
from attestpay.design.units import day, display
from attestpay_cli import Failed


def _file_option(flag: str, dest: str, help: str):
    return click.option(flag, dest, type=click.Path(dir_okay=False, path_type=Path), help=help)


def _options(command):
    for option in reversed(
        (
            click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
            click.option("--json", "as_json", is_flag=True, help="print the result as JSON (amounts in base units)"),
            _file_option("--html", "html_out", "write the canvas report as HTML"),
            _file_option("--pdf", "pdf_out", "write the canvas report as PDF"),
            click.option(
                "--counterparty",
                is_flag=True,
                help="the report without the provider's costs and margin (for the other party)",
            ),
            _file_option(
                "--history", "history_csv", "past projects (CSV, docs/design.md) for forecasts of kind `history`"
            ),
            click.option("--draws", type=click.IntRange(100, 1_000_000), default=analysis.DRAWS, show_default=True),
            click.option("--seed", type=int, default=analysis.SEED, show_default=True),
        )
    ):
        command = option(command)
    return command


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise Failed(f"cannot read {path}: {exc.strerror or exc}") from None


class Study:
    """The design and its history, loaded once; every figure computed on demand."""

    def __init__(self, file: Path, history_csv: Path | None, draws: int, seed: int, counterparty: bool) -> None:
        try:
            self.design = document.load(_read(file))
            self.points = history.from_csv(_read(history_csv), history_csv.name) if history_csv else []
            analysis.deal(self.design, self.points)  # every forecast resolvable before any work
        except DesignError as exc:
            raise Failed(f"{file}: {exc}") from None
        self.draws, self.seed, self.private = draws, seed, not counterparty

    def check(self) -> dict:
        from backend.domain.design import metric_problem  # here: it loads the ORM (0.3 s of every CLI start)

        return analysis.check(self.design, self.points, metric_problem, self.draws, self.seed)

    def simulate(self) -> dict:
        return analysis.run(self.design, self.points, self.draws, self.seed, self.private)

    def compare(self) -> dict:
        return analysis.compare(self.design, self.points, min(self.draws, 20_000), self.seed, self.private)

    def write_reports(self, html_out: Path | None, pdf_out: Path | None, done: dict) -> None:
        if not (html_out or pdf_out):
            return
        from attestpay.design import report  # here: the PDF library costs every CLI start 0.15 s

        parts = report.sections(
            self.design,
            done.get("check") or self.check(),
            done.get("simulate") or self.simulate(),
            done.get("compare") or self.compare(),
            self.private,
        )
        for out, render in ((html_out, report.as_html), (pdf_out, report.as_pdf)):
            if out is None:
                continue
            content = render(parts)
            try:
                out.write_bytes(content) if isinstance(content, bytes) else out.write_text(content)
            except OSError as exc:
                raise Failed(f"cannot write {out}: {exc.strerror or exc}") from None
            click.echo(f"wrote {out}", err=True)

    def money(self, units: int | str) -> str:
        tok = self.design.token_units
        return display(int(units), tok.decimals, tok.symbol, 2)

    def spread(self, stats: dict) -> str:
        return f"{self.money(stats['mean'])} (P10 {self.money(stats['p10'])}, P90 {self.money(stats['p90'])})"


@click.group()
def design() -> None:
    """Design a deal from the billing canvas: check it, simulate it for both parties, compare structures."""


def _study_command(kind: str, lines: Callable[[Study, dict], Iterator[str]]) -> click.Command:
    """`design KIND FILE`: the study's `kind` as JSON or in the words `lines` gives, then the reports.
    Its help is the docstring of `lines`."""

    def command(file, as_json, html_out, pdf_out, counterparty, history_csv, draws, seed) -> None:
        study = Study(file, history_csv, draws, seed, counterparty)
        result = getattr(study, kind)()
        click.echo(json.dumps(result, indent=2) if as_json else "\n".join(lines(study, result)))
        study.write_reports(html_out, pdf_out, {kind: result})

    command.__doc__ = lines.__doc__
    return design.command(kind)(_options(command))


def _check_lines(study: Study, r: dict) -> Iterator[str]:
    """Findings from the canvas's Do / Don't (metrics, milestones, cash flow, thresholds, protection)."""
    yield f"{r['title']}: {len(r['findings'])} finding(s)"
    for f in r["findings"]:
        yield f"  {f['level']:7} {f['code']}: {f['message']}"


def _simulate_lines(study: Study, r: dict) -> Iterator[str]:
    """What each party gets: per milestone and in total, bands, margin, exposure, monthly cash flow."""
    yield f"{r['title']}: {r['draws']:,} draws (seed {r['seed']}); means with P10 and P90"
    for f in r["fits"]:
        yield (
            f"  forecast {f['forecast']} of milestone {f['milestone']} fitted on {f['points']} "
            f"past '{f['kind']}' milestones"
        )
    for m in r["milestones"]:
        bands = ", ".join(f"{k.replace('_', ' ')} {v:.0%}" for k, v in m["bands"].items())
        yield f"  {m['title']} (deadline {day(m['deadline'])}): {bands}"
        yield f"    provider paid {study.spread(m['paid'])}; client refunded {study.spread(m['refund'])}"
    t = r["total"]
    yield f"  provider paid now {study.spread(t['paid_now'])}, with holdbacks {study.spread(t['paid'])}"
    yield f"  client refunded {study.spread(t['refund'])}; penalties {study.spread(t['penalty'])}"
    if study.private:
        p = r["provider"]
        yield (
            f"  provider's costs {study.money(p['costs'])}, margin {study.spread(p['margin'])}, "
            f"loss in {p['probability_of_loss']:.1%} of draws"
        )
    yield f"  client's maximum exposure {study.money(r['client']['max_exposure'])}"
    for month, locked in zip(r["cash_flow"], r["client"]["locked"], strict=True):
        yield (
            f"  {month['month']}: client {study.money(month['client']['p50'])}, "
            f"provider {study.money(month['provider']['p50'])} (P50), locked {study.money(locked['p50'])}"
        )


def _compare_lines(study: Study, r: dict) -> Iterator[str]:
    """The design beside a flat fee, pure milestones and variants: who bears under-delivery."""
    yield f"{r['title']}: {r['draws']:,} draws of the same outcomes for every structure"
    for s in r["structures"]:
        share = s["risk"]["provider_share"]
        yield (
            f"  {s['name']:<20} provider paid {study.spread(s['provider_paid'])}; "
            f"under-delivery borne by the provider: {'n/a' if share is None else f'{share:.0%}'}"
        )


for _kind, _lines in (("check", _check_lines), ("simulate", _simulate_lines), ("compare", _compare_lines)):
    _study_command(_kind, _lines)


@design.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def terms(file: Path) -> None:
    """The terms alone (the body `attestpay agreement create` takes): nothing private, no canvas."""
    try:
        click.echo(json.dumps(document.terms(document.load(_read(file))), indent=2))
    except DesignError as exc:
        raise Failed(f"{file}: {exc}") from None


@design.command()
def schema() -> None:
    """The design document's JSON Schema."""
    click.echo(json.dumps(document.schema(), indent=2))
