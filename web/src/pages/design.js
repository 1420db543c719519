// Deal design: edit a design document (the terms plus the billing canvas), see each milestone's payout
// curve, the simulated outcomes for both parties and the comparison with other structures, then propose
// the terms to the counterparty. The backend simulates; the terms it returns hold nothing private.
import { formatUnits } from "viem";
import { api, session } from "../api.js";
import { barChart, lineChart } from "../chart.js";
import { compute } from "../payout.js";
import { view, esc } from "../ui.js";
import ai from "../../../examples/design/ai-implementation.json";
import saas from "../../../examples/design/saas-onboarding.json";
import marketing from "../../../examples/design/marketing-agency.json";
import software from "../../../examples/design/custom-software.json";

const EXAMPLES = { "AI implementation": ai, "SaaS onboarding": saas, "Marketing agency": marketing, "Custom software": software };
const BANDS = ["below_floor", "partial", "target", "bonus", "late"];
let last = null; // the latest evaluation: what "Propose" sends

export async function designPage() {
  const me = session().address;
  view.innerHTML = `<h1>Design a deal</h1>
    <section><p class="muted">The billing canvas as one document: stakeholders and roles, value, metrics and their sources,
      billing rules, your private costs and your forecasts (docs/design.md). Evaluate it to see what each party can expect;
      only the terms are proposed, never your costs or forecasts.</p>
      <div class="grid"><div><label for="example">Start from an example</label><select id="example">${Object.keys(EXAMPLES).map((n) => `<option>${esc(n)}</option>`).join("")}</select></div>
      <div><label for="draws">Simulated draws</label><input id="draws" type="number" min="100" max="100000" value="20000"></div></div>
      <label for="design">Design document (JSON)</label><textarea id="design" rows="18" spellcheck="false"></textarea>
      <label for="history">Past projects (CSV, optional: project, milestone, metric_kind, higher_is_better, target, achieved, planned_date, actual_date, cost)</label>
      <textarea id="history" rows="3" spellcheck="false"></textarea>
      <div class="actions"><button id="evaluate">Check, simulate and compare</button><button class="secondary" id="report" disabled>Canvas report</button>
      <button class="secondary" id="propose" disabled>Propose the terms to the counterparty</button></div>
      <p id="design-error" class="error" role="alert"></p></section>
    <div id="results"></div>`;
  const box = view.querySelector("#design");
  const load = () => {
    const d = structuredClone(EXAMPLES[view.querySelector("#example").value]);
    if (me && d.provider) d.provider = me; // you design as the provider
    box.value = JSON.stringify(d, null, 2);
  };
  view.querySelector("#example").onchange = load;
  load();
  const error = view.querySelector("#design-error");
  const request = () => {
    const csv = view.querySelector("#history").value.trim();
    return { design: JSON.parse(box.value), draws: Number(view.querySelector("#draws").value), ...(csv ? { history_csv: csv } : {}) };
  };
  view.querySelector("#evaluate").onclick = async (event) => {
    error.textContent = "";
    event.target.disabled = true;
    view.querySelector("#results").innerHTML = `<p class="muted">Simulating…</p>`;
    try {
      const body = request();
      last = await api("POST", "/v1/designs/evaluate", body);
      render(body.design, last);
      view.querySelector("#propose").disabled = view.querySelector("#report").disabled = false;
    } catch (e) { error.textContent = e.message; } finally { event.target.disabled = false; }
  };
  view.querySelector("#report").onclick = async () => {
    try {
      const s = session();
      const response = await fetch("/v1/designs/report", { method: "POST", body: JSON.stringify(request()),
        headers: { "Content-Type": "application/json", ...(s.apiKey ? { "X-API-Key": s.apiKey } : { Authorization: `Bearer ${s.token}` }) } });
      if (!response.ok) throw new Error((await response.json()).detail);
      window.open(URL.createObjectURL(await response.blob()), "_blank", "noopener");
    } catch (e) { error.textContent = e.message; }
  };
  view.querySelector("#propose").onclick = async () => {
    error.textContent = "";
    try {
      const created = await api("POST", "/v1/agreements", last.terms);
      await api("POST", `/v1/agreements/${created.id}/propose`);
      location.hash = `#/agreements/${created.id}`;
    } catch (e) { error.textContent = e.message; }
  };
}

function render(design, r) {
  const t = r.simulation.token;
  const n = (x) => Number(formatUnits(BigInt(x), t.decimals));
  const money = (x) => `${n(x).toLocaleString("en-US", { maximumFractionDigits: 2 })} ${esc(t.symbol)}`;
  const spread = (s) => `${money(s.mean)} <span class="muted">(P10 ${money(s.p10)}, P50 ${money(s.p50)}, P90 ${money(s.p90)})</span>`;
  const pct = (p) => (p === null ? "n/a" : `${(p * 100).toFixed(1)}%`);
  const axis = (y) => y.toLocaleString("en-US", { maximumFractionDigits: 0 });
  const findings = r.check.findings.map((f) => `<li><strong>${esc(f.level)}</strong> ${esc(f.code)}: ${esc(f.message)}</li>`).join("");
  const fits = r.simulation.fits.map((f) => `<li>${esc(f.forecast)} of milestone ${f.milestone + 1}: fitted on ${f.points} past “${esc(f.kind)}” milestones (${esc(f.shape)})</li>`).join("");
  const milestones = r.simulation.milestones.map((m, i) => {
    const terms = r.terms.milestones[i], spec = terms.spec;
    return `<section class="design-milestone"><h3>${esc(m.title)}</h3>
      <div class="grid"><figure>${curve(terms, t)}<figcaption class="muted">Paid (base + bonus, on time) for each value of ${esc(spec.name)}</figcaption></figure>
      <figure>${barChart(`Outcome bands of ${m.title}`, BANDS.map((b) => ({ label: b.replace("_", " "), values: [m.bands[b] * 100] })), ["share of draws (%)"], (y) => `${y.toFixed(0)}%`)}
      <figcaption class="muted">How often each outcome happens in the simulation</figcaption></figure></div>
      <table><tr><th>paid to the provider</th><td>${spread(m.paid)}</td></tr><tr><th>of which held back</th><td>${spread(m.holdback)}</td></tr>
      <tr><th>refunded to the client</th><td>${spread(m.refund)}</td></tr><tr><th>late penalties</th><td>${spread(m.penalty)}</td></tr>
      <tr><th>your cost / margin</th><td>${money(m.cost)} / ${spread(m.margin)}</td></tr></table></section>`;
  }).join("");
  const cash = r.simulation.cash_flow;
  const structures = r.comparison.structures.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.change)}</td><td>${spread(s.provider_paid)}</td>
    <td>${spread(s.client_refund)}</td><td>${pct(s.risk.provider_share)}</td><td>${money(s.provider_margin.p10)}</td></tr>`).join("");
  view.querySelector("#results").innerHTML = `<h2>Findings</h2><section><ul id="findings">${findings || "<li>No findings.</li>"}</ul>${fits ? `<ul>${fits}</ul>` : ""}</section>
    <h2>The whole deal (${r.simulation.draws.toLocaleString("en-US")} draws)</h2><section id="totals"><table>
      <tr><th>paid to the provider now</th><td>${spread(r.simulation.total.paid_now)}</td></tr>
      <tr><th>paid with the holdbacks</th><td>${spread(r.simulation.total.paid)}</td></tr>
      <tr><th>refunded to the client</th><td>${spread(r.simulation.total.refund)}</td></tr>
      <tr><th>your margin after costs (${money(r.simulation.provider.costs)})</th><td>${spread(r.simulation.provider.margin)}; a loss in ${pct(r.simulation.provider.probability_of_loss)} of draws</td></tr>
      <tr><th>client's maximum exposure</th><td>${money(r.simulation.client.max_exposure)}</td></tr></table>
      ${barChart("Your net cash flow by month (P10, P50, P90)", cash.map((c) => ({ label: c.month, values: [n(c.provider.p10), n(c.provider.p50), n(c.provider.p90)].map((v) => Math.max(v, 0)) })), ["P10", "P50", "P90"], axis)}
      ${barChart("Client's capital locked at month end (P10, P50, P90)", r.simulation.client.locked.map((c) => ({ label: c.month, values: [n(c.p10), n(c.p50), n(c.p90)] })), ["P10", "P50", "P90"], axis)}
      <div class="scroll"><table><thead><tr><th>month</th><th>client (net)</th><th>provider (net)</th></tr></thead><tbody>
      ${cash.map((c) => `<tr><td>${esc(c.month)}</td><td>${spread(c.client)}</td><td>${spread(c.provider)}</td></tr>`).join("")}</tbody></table></div></section>
    <h2>Milestones</h2>${milestones}
    <h2>Compared with other structures</h2><section class="scroll"><table id="structures"><thead><tr><th>structure</th><th>what changes</th><th>provider paid</th>
      <th>client refunded</th><th>under-delivery borne by the provider</th><th>your margin P10</th></tr></thead><tbody>${structures}</tbody></table></section>`;
}

function curve(terms, t) {
  const m = {
    amount: BigInt(terms.amount), bonus: BigInt(terms.bonus), floor: BigInt(terms.floor), target: BigInt(terms.target), stretch: BigInt(terms.stretch),
    floorPayoutBps: BigInt(terms.floor_payout_bps), deadline: BigInt(terms.deadline), latePenaltyBpsPerDay: BigInt(terms.late_penalty_bps_per_day),
    maxLatePenaltyBps: BigInt(terms.max_late_penalty_bps), holdbackBps: BigInt(terms.holdback_bps), higherIsBetter: terms.spec.higher_is_better,
  };
  const lo = Number(m.floor < m.stretch ? m.floor : m.stretch), hi = Number(m.floor < m.stretch ? m.stretch : m.floor);
  const span = hi - lo || 1, points = [];
  for (let i = 0; i <= 60; i++) {
    const v = BigInt(Math.round(lo - span * 0.15 + (span * 1.3 * i) / 60));
    const p = compute(m, v, m.deadline);
    points.push({ x: Number(v), y: Number(formatUnits(p.base + p.bonus, t.decimals)) });
  }
  const d = 10 ** (terms.spec.decimals || 0);
  return lineChart(`Payout curve of ${terms.title}`, points, [{ y: Number(formatUnits(m.amount, t.decimals)), label: "amount" }],
    (x) => `${(x / d).toLocaleString("en-US")} ${terms.spec.unit}`, (y) => y.toLocaleString("en-US", { maximumFractionDigits: 2 }));
}
