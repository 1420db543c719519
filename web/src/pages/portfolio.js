// The portfolio: rates, funds at risk, the next dates (the Upcoming page has them all) and the cash-flow projection per token.
import { formatUnits } from "viem";
import { api } from "../api.js";
import { barChart } from "../chart.js";
import { view, esc, token, money } from "../ui.js";
import { upcomingRows, upcomingTable } from "./upcoming.js";

export async function portfolioPage() {
  const p = await api("GET", "/v1/reports/portfolio");
  const pct = (r) => (r === null ? "n/a" : `${(r * 100).toFixed(1)}%`);
  const byToken = new Map();
  for (const row of p.cash_flow) {
    if (!byToken.has(row.token)) byToken.set(row.token, []);
    byToken.get(row.token).push(row);
  }
  const charts = await Promise.all([...byToken].map(async ([address, rows]) => {
    const t = await token(address);
    const n = (x) => Number(formatUnits(BigInt(x), t.decimals));
    return `<h2>Cash-flow projection (${esc(t.symbol)})</h2><section>${barChart(`Expected releases by date in ${t.symbol}`,
      rows.map((r) => ({ label: r.date, values: [n(r.best), n(r.expected), n(r.worst)] })), ["best", "expected", "worst"],
      (y) => y.toLocaleString("en-US", { maximumFractionDigits: 0 }))}</section>`;
  }));
  const atRisk = await Promise.all(Object.entries(p.funds_at_risk).map(async ([address, amount]) => money(amount, await token(address))));
  const next = await upcomingRows();
  view.innerHTML = `<h1>Portfolio</h1><section><div class="grid">
    <div><strong>Agreements</strong><br>${p.agreements} (${p.funded_agreements} funded)</div>
    <div><strong>Milestones settled</strong><br>${p.milestones_settled} of ${p.milestones_due} due</div>
    <div><strong>Completion rate</strong><br>${pct(p.completion_rate)}</div>
    <div><strong>On-time rate</strong><br>${pct(p.on_time_rate)}</div>
    <div><strong>Average lateness</strong><br>${p.average_days_late ?? "n/a"} days</div>
    <div><strong>Achievement vs target</strong><br>${pct(p.average_achievement)}</div>
    <div><strong>Funds at risk</strong><br>${atRisk.join("<br>") || "none"}</div></div>
    ${barChart("Completion, on-time and achievement rates (%)", [["completion", p.completion_rate], ["on time", p.on_time_rate],
      ["achievement", p.average_achievement]].map(([label, r]) => ({ label, values: [(r ?? 0) * 100] })), ["rate (%)"], (y) => `${y.toFixed(0)}%`)}</section>
    <h2>Upcoming</h2><section>${upcomingTable(next.slice(0, 3), `<tr><td colspan="3"><a href="#/upcoming">All ${next.length} upcoming dates</a></td></tr>`)}</section>
    ${charts.join("") || `<section><p class="muted">No funded agreement yet: nothing to project.</p></section>`}`;
}
