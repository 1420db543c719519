// A new agreement: the terms form, each milestone's payout curve drawn as it is typed.
import { formatUnits, parseUnits } from "viem";
import { DAY, view, esc, token } from "../ui.js";
import { api, session } from "../api.js";
import { compute } from "../payout.js";
import { lineChart } from "../chart.js";

const MILESTONE_FIELDS = [
  ["title", "Title", "text", "Model accuracy >= 92%"], ["amount", "Amount", "number", "1000"], ["bonus", "Bonus (max)", "number", "100"],
  ["floor", "Floor", "number", "0.80"], ["target", "Target", "number", "0.92"], ["stretch", "Stretch", "number", "0.96"],
  ["floor_payout_bps", "Paid at floor (%)", "number", "50"], ["deadline", "Deadline (UTC)", "datetime-local", ""],
  ["late_penalty_bps_per_day", "Late penalty (%/day)", "number", "1"], ["max_late_penalty_bps", "Max late penalty (%)", "number", "10"],
  ["holdback_bps", "Holdback (%)", "number", "10"], ["holdback_period", "Holdback period (days)", "number", "30"],
];
const SPEC = { name: "model accuracy", version: 1, unit: "fraction", decimals: 4, higher_is_better: true, aggregation: "latest",
  source: { kind: "model_eval", path: "predictions.jsonl", metric: "accuracy" } };

export async function newPage() {
  const me = session().address;
  const deadline = new Date(Date.now() + 30 * DAY * 1000).toISOString().slice(0, 16);
  view.innerHTML = `<h1>New agreement</h1><form id="new" novalidate>
    <section><div class="grid">
      <div><label for="title">Title</label><input id="title" name="title" required value="Fraud model in production"></div>
      <div><label for="client">Client</label><input id="client" name="client" required value="${esc(me)}"></div>
      <div><label for="provider">Provider</label><input id="provider" name="provider" required></div>
      <div><label for="arbiter">Arbiter (optional)</label><input id="arbiter" name="arbiter"></div>
      <div><label for="token">Token (ERC-20 address; empty: ETH)</label><input id="token" name="token"></div>
      <div><label for="threshold">Oracle threshold (M)</label><input id="threshold" name="threshold" type="number" min="1" value="2"></div>
      <div><label for="cure">Cure window (days)</label><input id="cure" name="cure" type="number" min="0" value="7"></div>
    </div>
    <label for="oracles">Oracle addresses (N, one per line)</label><textarea id="oracles" name="oracles" required></textarea></section>
    <div id="milestones"></div>
    <div class="actions"><button type="button" class="secondary" id="add">Add a milestone</button><button id="create">Create and propose</button></div>
    <p id="form-error" class="error" role="alert"></p></form>`;
  const list = view.querySelector("#milestones");
  const add = () => {
    const i = list.children.length;
    const section = document.createElement("section");
    section.className = "milestone";
    section.innerHTML = `<h2>Milestone ${i + 1}</h2><div class="grid">${MILESTONE_FIELDS.map(([name, label, type, value]) =>
      `<div><label for="${name}-${i}">${label}</label><input id="${name}-${i}" name="${name}" type="${type}" step="any" value="${name === "deadline" ? deadline : value}"></div>`).join("")}
      <div><label for="approval-${i}">Client approval</label><select id="approval-${i}" name="approval"><option value="">not needed</option><option value="1">needed</option></select></div></div>
      <label for="spec-${i}">Metric spec (the oracle's JSON; its hash is the metric id)</label><textarea id="spec-${i}" name="spec">${esc(JSON.stringify(SPEC, null, 2))}</textarea>
      <figure><div class="curve"></div><figcaption class="muted">What the provider is paid (base + bonus, on time) for each value: updates as you type.</figcaption></figure>`;
    list.append(section);
    section.oninput = () => drawCurve(section);
    drawCurve(section);
  };
  view.querySelector("#add").onclick = add;
  add();
  view.querySelector("#new").onsubmit = async (event) => {
    event.preventDefault();
    const error = view.querySelector("#form-error");
    error.textContent = "";
    try {
      const body = await agreementBody(event.target);
      const created = await api("POST", "/v1/agreements", body);
      await api("POST", `/v1/agreements/${created.id}/propose`);
      location.hash = `#/agreements/${created.id}`;
    } catch (e) { error.textContent = e.message; }
  };
}

function milestoneTerms(section, decimals) {
  const f = (name) => section.querySelector(`[name=${name}]`).value;
  const spec = JSON.parse(f("spec"));
  const scaled = (v) => BigInt(Math.round(Number(v) * 10 ** spec.decimals));
  const bps = (v) => BigInt(Math.round(Number(v) * 100));
  return {
    spec, title: f("title"), amount: parseUnits(f("amount") || "0", decimals), bonus: parseUnits(f("bonus") || "0", decimals),
    floor: scaled(f("floor")), target: scaled(f("target")), stretch: scaled(f("stretch")), floorPayoutBps: bps(f("floor_payout_bps")),
    deadline: BigInt(Math.floor(new Date(f("deadline") + "Z").getTime() / 1000)), latePenaltyBpsPerDay: bps(f("late_penalty_bps_per_day")),
    maxLatePenaltyBps: bps(f("max_late_penalty_bps")), holdbackBps: bps(f("holdback_bps")), holdbackPeriod: BigInt(Math.round(Number(f("holdback_period")) * DAY)),
    higherIsBetter: spec.higher_is_better, approval: f("approval") === "1",
  };
}

function drawCurve(section) {
  const box = section.querySelector(".curve");
  try {
    const m = milestoneTerms(section, 18);
    const lo = Number(m.floor < m.stretch ? m.floor : m.stretch), hi = Number(m.floor < m.stretch ? m.stretch : m.floor);
    const span = hi - lo || 1, points = [];
    for (let i = 0; i <= 60; i++) {
      const v = BigInt(Math.round(lo - span * 0.15 + (span * 1.3 * i) / 60));
      const p = compute(m, v, m.deadline);
      points.push({ x: Number(v), y: Number(formatUnits(p.base + p.bonus, 18)) });
    }
    const d = 10 ** m.spec.decimals;
    box.innerHTML = lineChart("Payout curve", points, [{ y: Number(formatUnits(m.amount, 18)), label: "amount" }],
      (x) => `${(x / d).toLocaleString("en-US")} ${m.spec.unit}`, (y) => y.toLocaleString("en-US", { maximumFractionDigits: 2 }));
  } catch (e) {
    box.innerHTML = `<p class="muted">The curve appears once the terms are complete (${esc(e.message)}).</p>`;
  }
}

async function agreementBody(form) {
  const v = (name) => form.querySelector(`[name=${name}]`).value.trim();
  const tokenAddress = v("token") || null;
  const t = await token(tokenAddress);
  return {
    title: v("title"), client: v("client"), provider: v("provider"), arbiter: v("arbiter") || null, token: tokenAddress,
    oracles: v("oracles").split(/\s+/).filter(Boolean), threshold: Number(v("threshold")), cure_window: Math.round(Number(v("cure")) * DAY),
    milestones: [...form.querySelectorAll(".milestone")].map((section) => {
      const m = milestoneTerms(section, t.decimals);
      return {
        title: m.title, spec: m.spec, amount: String(m.amount), bonus: String(m.bonus), floor: String(m.floor), target: String(m.target),
        stretch: String(m.stretch), deadline: Number(m.deadline), floor_payout_bps: Number(m.floorPayoutBps),
        late_penalty_bps_per_day: Number(m.latePenaltyBpsPerDay), max_late_penalty_bps: Number(m.maxLatePenaltyBps),
        holdback_bps: Number(m.holdbackBps), holdback_period: Number(m.holdbackPeriod), requires_client_approval: m.approval,
      };
    }),
  };
}
