// The portfolio: rates and the cash-flow projection per token.
import { formatUnits } from "viem";
import { api } from "../api.js";
import { barChart } from "../chart.js";
import { view, esc, token, money, date, role } from "../ui.js";
import { session } from "../api.js";

/** What falls due next across the viewer's funded agreements, signed by the viewer's side:
 * + comes to you (provider), - leaves you (client); arbiters and auditors see amounts unsigned. */
async function upcoming() {
  const me = session().address, now = Math.floor(Date.now() / 1000), rows = [];
  for (const a of await api("GET", "/v1/agreements")) {
    if (a.status !== "active") continue;
    const t = await token(a.token), my = me ? role(a, me) : "auditor";
    const sign = my === "provider" ? "+" : my === "client" ? "-" : "";
    for (const m of a.milestones) {
      const what = `<a href="#/agreements/${a.id}">${esc(a.title)}</a>, milestone ${m.index + 1} (${esc(m.title)})`;
      const whole = BigInt(m.amount) + BigInt(m.bonus);
      if (m.status === "open") {
        rows.push([m.deadline, `due: ${what}`, `${sign}${money(m.amount, t)}${BigInt(m.bonus) ? ` (bonus up to ${money(m.bonus, t)})` : ""}`]);
        rows.push([m.deadline + a.cure_window, `cure window ends: the client may reclaim ${what}`, `${my === "client" ? "+" : my === "provider" ? "-" : ""}${money(whole, t)}`]);
      }
      if (m.holdback_status === "held") rows.push([m.settled_at + m.holdback_period, `holdback released: ${what}`, `${sign}${money(m.holdback, t)}`]);
    }
  }
  rows.sort((x, y) => x[0] - y[0]);
  const body = rows.map(([at, text, amount]) => `<tr${at < now ? ' class="overdue"' : ""}><td>${date(at)}</td><td>${text}</td><td class="amount">${amount}</td></tr>`).join("");
  return `<h2>Upcoming</h2><section><table><thead><tr><th scope="col">when</th><th scope="col">what</th><th scope="col">amount (+ to you, - from you)</th></tr></thead>
    <tbody>${body || `<tr><td colspan="3">Nothing due: no active agreement.</td></tr>`}</tbody></table></section>`;
}

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
  const next = await upcoming();
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
    ${next}
    ${charts.join("") || `<section><p class="muted">No funded agreement yet: nothing to project.</p></section>`}`;
}
