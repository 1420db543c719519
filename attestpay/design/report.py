"""The canvas report: the design as a commercial, delivery or legal reviewer reads it, step by
step of the canvas (stakeholders, value, metrics, billing, activities, costs and risk, review),
with the simulation, the findings and the comparison. One list of sections, rendered as HTML and
as PDF. `private=False` leaves out the provider's costs and margin (the counterparty's copy)."""

from __future__ import annotations

import html as _html

from attestpay.design import document
from attestpay.design.document import Design
from attestpay.design.units import day, display

Table = tuple[list[str], list[list[str]]]


def sections(
    design: Design, check: dict, simulation: dict, comparison: dict, private: bool = True
) -> list[tuple[str, list]]:
    """(heading, blocks); a block is a paragraph (str) or a table (header, rows)."""
    tok = design.token_units

    def money(units: int | str) -> str:
        return display(int(units), tok.decimals, tok.symbol, 2)

    def spread(stats: dict) -> str:
        return (
            f"{money(stats['mean'])} (P10 {money(stats['p10'])}, P50 {money(stats['p50'])}, P90 {money(stats['p90'])})"
        )

    people = {s.name: s for s in design.stakeholders}

    def party(side: str, address: str) -> str:
        names = [s.organisation or s.name for s in design.stakeholders if s.side == side]
        return f"{names[0]} ({address})" if names else address

    def who(names: list[str]) -> str:
        return ", ".join(f"{n} ({people[n].organisation or people[n].side})" for n in names) or "nobody named"

    terms = [document.milestone(design, i) for i in range(len(design.milestones))]
    out: list[tuple[str, list]] = []
    out.append(
        (
            design.title,
            [
                f"Client {party('client', design.client)}, provider {party('provider', design.provider)}"
                + (f", arbiter {design.arbiter}" if design.arbiter else "")
                + f". Paid in {tok.symbol}; the client funds {money(sum(t.amount + t.bonus for t in terms))} "
                f"on {day(document.start(design))}; cure window {document.cure_window(design) // 86_400} days; "
                f"{design.threshold} of {len(design.oracles)} oracles attest each metric.",
                "Internal to the provider: this copy shows its private costs and margin."
                if private
                else "The counterparty's copy: what is private to the provider is left out.",
            ],
        )
    )
    out.append(
        (
            "1. Stakeholders and their roles",
            [
                (
                    ["name", "organisation", "side", "title"],
                    [[s.name, s.organisation, s.side, s.title] for s in design.stakeholders],
                ),
                (
                    ["milestone", "approves", "validates", "authorizes payment"],
                    [
                        [m.title, who(m.roles.approves), who(m.roles.validates), who(m.roles.authorizes)]
                        for m in design.milestones
                    ],
                ),
            ],
        )
    )
    out.append(
        (
            "2. Value by milestone",
            [
                (
                    ["milestone", "value to the client"],
                    [[m.title, m.value_statement or "(not stated)"] for m in design.milestones],
                )
            ],
        )
    )

    def value(v: int, spec: dict) -> str:
        return f"{v / 10 ** spec.get('decimals', 0):g} {spec.get('unit', '')}"

    out.append(
        (
            "3. Metrics and success criteria",
            [
                (
                    [
                        "milestone",
                        "metric",
                        "measured from",
                        "data controlled by",
                        "floor / target / stretch",
                        "deadline",
                    ],
                    [
                        [
                            m.title,
                            f"{m.spec.get('name', '?')} ({'higher' if t.higher_is_better else 'lower'} is better)",
                            (m.spec.get("source") or {}).get("kind", "NO SOURCE"),
                            m.source_owner or "not stated",
                            " / ".join(value(x, m.spec) for x in (t.floor, t.target, t.stretch)),
                            day(t.deadline),
                        ]
                        for m, t in zip(design.milestones, terms, strict=True)
                    ],
                )
            ],
        )
    )
    out.append(
        (
            "4. Billing structure",
            [
                (
                    [
                        "milestone",
                        "amount",
                        "bonus (max)",
                        "paid at floor",
                        "late penalty",
                        "holdback",
                        "client approval",
                    ],
                    [
                        [
                            m.title,
                            money(t.amount),
                            money(t.bonus),
                            f"{t.floor_payout_bps / 100:g}%",
                            f"{t.late_penalty_bps_per_day / 100:g}%/day, at most {t.max_late_penalty_bps / 100:g}%",
                            f"{t.holdback_bps / 100:g}% for {t.holdback_period // 86_400} days",
                            "yes" if t.requires_client_approval else "no",
                        ]
                        for m, t in zip(design.milestones, terms, strict=True)
                    ],
                )
            ],
        )
    )
    out.append(
        (
            "5. Key activities and resources",
            [
                (
                    ["milestone", "activities"],
                    [[m.title, "; ".join(m.activities) or "(none listed)"] for m in design.milestones],
                )
            ],
        )
    )

    risk: list = [
        f"Simulated over {simulation['draws']:,} draws of each milestone's forecast (seed {simulation['seed']}); "
        "amounts are means with P10 / P50 / P90.",
        (
            [
                "milestone",
                "below floor",
                "partial",
                "target",
                "bonus",
                "late",
                "paid to the provider",
                "refunded to the client",
            ],
            [
                [
                    m["title"],
                    *(f"{m['bands'][b]:.1%}" for b in ("below_floor", "partial", "target", "bonus", "late")),
                    spread(m["paid"]),
                    spread(m["refund"]),
                ]
                for m in simulation["milestones"]
            ],
        ),
        (
            ["whole deal", "figure"],
            [
                ["paid to the provider now", spread(simulation["total"]["paid_now"])],
                ["paid with the holdbacks", spread(simulation["total"]["paid"])],
                ["refunded to the client", spread(simulation["total"]["refund"])],
                ["late penalties", spread(simulation["total"]["penalty"])],
                ["client's maximum exposure (funded)", money(simulation["client"]["max_exposure"])],
                [
                    "under-delivery borne by the provider / the client",
                    f"{money(simulation['total']['risk']['provider_bears'])} / "
                    f"{money(simulation['total']['risk']['client_bears'])}",
                ],
            ]
            + (
                [
                    ["provider's costs", money(simulation["provider"]["costs"])],
                    ["provider's margin", spread(simulation["provider"]["margin"])],
                    ["probability the provider loses money", f"{simulation['provider']['probability_of_loss']:.1%}"],
                ]
                if private
                else []
            ),
        ),
        (
            [
                "month",
                "client's net flow",
                "provider's net flow" if private else "provider's receipts",
                "capital locked at month end",
            ],
            [
                [f["month"], spread(f["client"]), spread(f["provider"]), spread(locked)]
                for f, locked in zip(simulation["cash_flow"], simulation["client"]["locked"], strict=True)
            ],
        ),
    ]
    if private:
        risk.insert(
            0,
            (
                ["milestone", "provider's cost", "when", "what"],
                [
                    [m.title, money(c.amount), day(c.at), c.what]
                    for i, m in enumerate(design.milestones)
                    for c in document.costs(design, i)
                ],
            ),
        )
    if simulation.get("fits"):
        risk.append(
            (
                ["milestone", "forecast", "fitted from", "points", "mean", "P10 / P50 / P90"],
                [
                    [
                        design.milestones[f["milestone"]].title,
                        f["forecast"],
                        f"history of '{f['kind']}' ({f['shape']})",
                        str(f["points"]),
                        str((f["achievement"] if f["forecast"] == "value" else f["days_late"])["mean"]),
                        " / ".join(
                            str((f["achievement"] if f["forecast"] == "value" else f["days_late"])[k])
                            for k in ("p10", "p50", "p90")
                        ),
                    ]
                    for f in simulation["fits"]
                ],
            )
        )
    out.append(("6. Costs and risk allocation", risk))
    findings = [f"[{f['level']}] {f['message']}" for f in check["findings"]] or ["No findings."]
    structures = (
        ["structure", "what changes", "provider paid", "client refunded", "under-delivery: provider's share"]
        + (["provider's margin P10"] if private else []),
        [
            [
                r["name"],
                r["change"],
                spread(r["provider_paid"]),
                spread(r["client_refund"]),
                "n/a" if r["risk"]["provider_share"] is None else f"{r['risk']['provider_share']:.0%}",
            ]
            + ([money(r["provider_margin"]["p10"])] if private else [])
            for r in comparison["structures"]
        ],
    )
    out.append(
        (
            "7. Review: findings and alternatives",
            [
                *findings,
                structures,
                "Sign-off: commercial (prices, bonus, penalties) ______  "
                "delivery (dates, forecasts, activities) ______  "
                "legal (roles, metric sources, cure window, holdback) ______",
            ],
        )
    )
    return out


def as_html(parts: list[tuple[str, list]]) -> str:
    e = _html.escape
    body = []
    for i, (heading, blocks) in enumerate(parts):
        body.append(f"<h{1 if i == 0 else 2}>{e(heading)}</h{1 if i == 0 else 2}>")
        for block in blocks:
            if isinstance(block, str):
                body.append(f"<p>{e(block)}</p>")
            else:
                header, rows = block
                head = "".join(f"<th>{e(h)}</th>" for h in header)
                cells = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
    style = (
        "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1b1f24}"
        "table{border-collapse:collapse;margin:.6em 0 1.2em;width:100%}th,td{border:1px solid #d6dae0;padding:4px 6px;"
        "text-align:left;vertical-align:top}th{background:#f3f5f7}h2{margin-top:1.6em}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(parts[0][0])}: deal design</title>'
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )


def as_pdf(parts: list[tuple[str, list]]) -> bytes:
    from fpdf import FPDF  # 0.2 s to import: paid where a PDF is made, not by every process

    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    for i, (heading, blocks) in enumerate(parts):
        pdf.set_font("Helvetica", "B", 16 if i == 0 else 12)
        pdf.multi_cell(0, 8, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
        for block in blocks:
            if isinstance(block, str):
                pdf.set_font("Helvetica", size=9)
                pdf.multi_cell(0, 5, _latin1(block), new_x="LMARGIN", new_y="NEXT")
                continue
            header, rows = block
            pdf.set_font("Helvetica", size=7)
            with pdf.table(text_align="LEFT", line_height=4) as table:
                for row in [header, *rows]:
                    cells = table.row()
                    for cell in row:
                        cells.cell(_latin1(cell))
            pdf.ln(2)
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """The PDF's core font is Latin-1."""
    return text.replace("\u2264", "<=").replace("\u2265", ">=").encode("latin-1", "replace").decode("latin-1")
