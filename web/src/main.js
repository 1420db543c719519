// The dashboard: a hash-routed single page over the backend's API. Every value shown comes from the
// API or the chain; every action is a message or transaction the user's wallet signs.
import { createPublicClient, custom, erc20Abi, formatUnits, parseUnits } from "viem";
import { api, endSession, keepSession, openDocument, session } from "./api.js";
import { barChart, lineChart } from "./chart.js";
import { compute } from "./payout.js";
import { sendAll, signIn, signTypedData, walletReason } from "./wallet.js";

const ETH = "0x0000000000000000000000000000000000000000";
const DAY = 86400;
const view = document.getElementById("view");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const short = (h) => (h ? `${h.slice(0, 8)}…${h.slice(-6)}` : "");
const date = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
const tokens = new Map();

// ------------------------------------------------------------------ formatting

async function token(address) {
  if (!address || address === ETH) return { symbol: "ETH", decimals: 18 };
  if (!tokens.has(address)) {
    tokens.set(address, (async () => {
      try {
        const chain = createPublicClient({ transport: custom(window.ethereum) });
        const [symbol, decimals] = await Promise.all([
          chain.readContract({ address, abi: erc20Abi, functionName: "symbol" }),
          chain.readContract({ address, abi: erc20Abi, functionName: "decimals" }),
        ]);
        return { symbol, decimals };
      } catch {
        return { symbol: short(address), decimals: 18 };
      }
    })());
  }
  return tokens.get(address);
}

const CREDITS_ABI = [{ type: "function", name: "credits", stateMutability: "view", inputs: [{ type: "address" }, { type: "address" }], outputs: [{ type: "uint256" }] }];

/** What the escrow credited to `account` in `tokenAddress` (payments it could not push), from the chain. */
async function credited(escrow, tokenAddress, account) {
  try {
    const chain = createPublicClient({ transport: custom(window.ethereum) });
    return await chain.readContract({ address: escrow, abi: CREDITS_ABI, functionName: "credits", args: [tokenAddress, account] });
  } catch {
    return 0n;
  }
}

// Both return HTML-safe text: a token's symbol and a metric's unit come from whoever deployed or drafted them.
const money = (amount, t) => `${Number(formatUnits(BigInt(amount ?? 0), t.decimals)).toLocaleString("en-US", { maximumFractionDigits: 4 })} ${esc(t.symbol)}`;
const metricText = (value, m) => `${Number(value) / 10 ** m.spec.decimals} ${m.spec.unit}`; // for the charts, which escape
const metric = (value, m) => esc(metricText(value, m));

/** The status at a glance: what the agreement waits for. */
function stage(a) {
  if (a.status === "draft" || a.status === "proposed") return "awaiting consent";
  if (a.status === "consented") return "awaiting funds";
  if (a.status === "completed") return "complete";
  if (a.status === "cancelled") return "cancelled";
  if (a.milestones.some((m) => m.status === "disputed" || m.holdback_status === "disputed")) return "disputed";
  if (a.milestones.every((m) => m.status !== "open")) return "settled";
  return "in progress";
}
const badge = (text) => `<span class="badge ${esc(text.replace(/ /g, "-"))}">${esc(text)}</span>`;
const role = (a, address) => ["client", "provider", "arbiter"].find((r) => a[r].toLowerCase() === address.toLowerCase()) || (session().apiKey ? "auditor" : "observer");

function toast(text) {
  const p = document.createElement("p");
  p.textContent = text;
  document.getElementById("toast").append(p);
  setTimeout(() => p.remove(), 6000);
}

// ------------------------------------------------------------------ wallet header, routing

function renderWallet() {
  const s = session();
  const box = document.getElementById("wallet");
  const who = s && (s.apiKey ? `${esc(s.address)} (API key)` : `<span class="hash" title="${esc(s.address)}">${esc(short(s.address))}</span>`);
  box.innerHTML = s ? `${who}<button class="secondary" id="sign-out">Sign out</button>` : `<button id="sign-in">Sign in with your wallet</button>`;
  box.querySelector("button").onclick = async () => {
    if (s) endSession();
    else {
      try { await signIn(); } catch (e) { toast(`Sign-in failed: ${walletReason(e)}`); }
    }
    route();
  };
}

const routes = [
  [/^#\/?$/, listPage],
  [/^#\/new$/, newPage],
  [/^#\/portfolio$/, portfolioPage],
  [/^#\/agreements\/(\d+)$/, agreementPage],
  [/^#\/agreements\/(\d+)\/attestations\/(0x[0-9a-fA-F]{64})$/, attestationPage],
];

async function route() {
  renderWallet();
  if (!session()) {
    view.innerHTML = `<section><h1>AttestPay</h1><p>Milestone escrow paid on measured outcomes. Sign in with your wallet
      (Sign-In with Ethereum: you sign a message, no transaction, no gas) to see your agreements.</p>
      <button id="sign-in-main">Sign in with your wallet</button></section>
      <section><h2>Auditors</h2><form id="auditor"><label for="api-key">Your auditor API key (it reads every agreement; it is kept in this tab only)</label>
      <input id="api-key" type="password" autocomplete="off" required><div class="actions"><button>Read as an auditor</button></div>
      <p class="error" role="alert"></p></form></section>`;
    view.querySelector("#sign-in-main").onclick = () => document.querySelector("#sign-in").click();
    view.querySelector("#auditor").onsubmit = async (event) => {
      event.preventDefault();
      keepSession(null, "auditor", event.target.querySelector("#api-key").value.trim());
      try {
        const me = await api("GET", "/v1/auth/me");
        if (me.role !== "auditor" && me.role !== "operator") throw new Error(`this key belongs to ${me.role} "${me.name}", not to an auditor`);
        keepSession(null, me.name, session().apiKey);
        route();
      } catch (e) {
        endSession();
        event.target.querySelector(".error").textContent = e.message;
      }
    };
    return;
  }
  const hash = location.hash || "#/";
  for (const [pattern, page] of routes) {
    const match = hash.match(pattern);
    if (match) {
      view.innerHTML = `<p class="muted">Loading…</p>`;
      try { await page(...match.slice(1)); } catch (e) { view.innerHTML = `<section><p class="error">${esc(e.message)}</p></section>`; }
      view.focus();
      return;
    }
  }
  view.innerHTML = `<section><p>No such page. <a href="#/">Back to your agreements</a></p></section>`;
}

// ------------------------------------------------------------------ agreements list

async function listPage() {
  const agreements = await api("GET", "/v1/agreements");
  const me = session().address;
  const stages = ["awaiting consent", "awaiting funds", "in progress", "disputed", "settled", "complete", "cancelled"];
  const auditor = Boolean(session().apiKey);
  view.innerHTML = `<h1>${auditor ? "Every agreement" : "Your agreements"}</h1>
    ${auditor ? `<section><p>Every payout on this escrow can be re-verified from chain data and the published evidence alone.</p>
      <button class="secondary" id="audit">Open the independent audit report (printable)</button></section>` : ""}
    <section><label for="filter">Show</label>
    <select id="filter"><option value="">all (${agreements.length})</option>${stages.map((s) => `<option>${s}</option>`).join("")}</select></section>
    <section class="scroll"><table><caption class="muted">${auditor ? "Every agreement on this service" : "Agreements where you are client, provider or arbiter"}</caption>
    <thead><tr><th scope="col">Agreement</th><th scope="col">Status</th><th scope="col">Your role</th><th scope="col">Milestones settled</th><th scope="col">Escrowed</th></tr></thead>
    <tbody id="rows"></tbody></table></section>`;
  const rows = await Promise.all(agreements.map(async (a) => {
    const t = await token(a.token);
    const total = a.milestones.reduce((sum, m) => sum + BigInt(m.amount) + BigInt(m.bonus), 0n);
    const done = a.milestones.filter((m) => m.status !== "open").length;
    return { stage: stage(a), html: `<tr><td><a href="#/agreements/${a.id}">${esc(a.title)}</a></td><td>${badge(stage(a))}</td>
      <td>${role(a, me)}</td><td>${done} of ${a.milestones.length}</td><td>${money(total, t)}</td></tr>` };
  }));
  const show = () => {
    const wanted = view.querySelector("#filter").value;
    const shown = rows.filter((r) => !wanted || r.stage === wanted);
    view.querySelector("#rows").innerHTML = shown.map((r) => r.html).join("") || `<tr><td colspan="5">None. <a href="#/new">Draft an agreement</a></td></tr>`;
  };
  if (auditor) view.querySelector("#audit").onclick = () => openDocument("/v1/reports/audit/html").catch((e) => toast(e.message));
  view.querySelector("#filter").onchange = show;
  show();
}

// ------------------------------------------------------------------ one agreement

async function agreementPage(pk) {
  const [a, report, attestations, invoices] = await Promise.all([
    api("GET", `/v1/agreements/${pk}`), api("GET", `/v1/agreements/${pk}/audit-report`),
    api("GET", `/v1/agreements/${pk}/attestations`), api("GET", `/v1/agreements/${pk}/invoices`),
  ]);
  const t = await token(a.token), me = session().address, my = role(a, me), now = Math.floor(Date.now() / 1000);
  const consented = a.consents.some((c) => c.party.toLowerCase() === me.toLowerCase());
  const top = [];
  if (a.status === "draft" && ["client", "provider", "arbiter"].includes(my)) top.push(["propose", "Propose these terms"]);
  if (a.status === "proposed" && (my === "client" || my === "provider") && !consented) top.push(["consent", "Consent with your wallet"]);
  if (a.status === "consented" && my === "client") top.push(["fund", "Fund the escrow"]);
  const credit = ["observer", "auditor"].includes(my) ? 0n : await credited(a.escrow, a.token, me);

  view.innerHTML = `<h1>${esc(a.title)} ${badge(stage(a))}</h1>
    <section><div class="grid">
      <div><strong>Client</strong><br><span class="hash">${esc(a.client)}</span></div>
      <div><strong>Provider</strong><br><span class="hash">${esc(a.provider)}</span></div>
      <div><strong>Arbiter</strong><br><span class="hash">${a.arbiter === ETH ? "none" : esc(a.arbiter)}</span></div>
      <div><strong>Paid in</strong><br>${esc(t.symbol)}</div>
      <div><strong>Oracles</strong><br>${a.threshold} of ${a.oracles.length}</div>
      <div><strong>Cure window</strong><br>${a.cure_window / DAY} days</div>
      <div><strong>You are</strong><br>${my}</div>
      <div><strong>Agreement id</strong><br><span class="hash">${esc(short(a.agreement_id) || "set when proposed")}</span></div>
    </div>
    <div class="actions">${top.map(([k, label]) => `<button data-action="${k}">${label}</button>`).join("")}</div>
    ${credit ? `<div class="card"><p>The escrow holds ${money(credit, t)} for you: a payment it could not push to you (your address refused it).</p>
      <label for="withdraw-to">Withdraw to (empty: your own address)</label><input id="withdraw-to" placeholder="0x…">
      <div class="actions"><button data-action="withdraw">Withdraw ${money(credit, t)}</button></div></div>` : ""}
    <div id="progress" aria-live="polite"></div></section>
    <h2>Milestones</h2>${a.milestones.map((m) => milestoneCard(a, m, attestations, t, my, now)).join("")}
    <h2>What if</h2><section id="whatif">${whatIfForm(a)}</section>
    <h2>Timeline</h2><section class="scroll">${timeline(a, report, attestations)}</section>
    <h2>Documents</h2><section><div class="actions">
      <button class="secondary" id="print">Print this page</button>
      ${invoices.map((n) => `<button class="secondary" data-doc="/v1/invoices/${esc(n)}/html">Invoice ${esc(n)}</button>`).join("") || `<span class="muted">No invoices yet: one is issued per settlement and holdback release.</span>`}
    </div></section>`;

  for (const button of view.querySelectorAll("button[data-action]")) button.onclick = () => act(a, button.dataset.action, Number(button.dataset.index), button.dataset.digest);
  view.querySelector("#print").onclick = () => window.print();
  for (const button of view.querySelectorAll("button[data-doc]")) button.onclick = () => openDocument(button.dataset.doc).catch((e) => toast(e.message));
  const form = view.querySelector("#whatif form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const index = Number(form.index.value), m = a.milestones[index];
    const value = BigInt(Math.round(Number(form.value.value) * 10 ** m.spec.decimals));
    const at = Math.floor(new Date(form.at.value + "Z").getTime() / 1000);
    try {
      const p = await api("GET", `/v1/agreements/${a.id}/milestones/${index}/preview?value=${value}&observed_at=${at}`);
      view.querySelector("#whatif output").innerHTML = `Earned ${p.earned_bps / 100}% of the amount: base ${money(p.base, t)}, bonus ${money(p.bonus_earned, t)},
        ${p.days_late} days late (penalty ${money(p.penalty, t)}); paid now ${money(p.paid_now, t)}, held back ${money(p.holdback, t)}, refunded ${money(p.refund, t)}.`;
    } catch (e) { view.querySelector("#whatif output").textContent = e.message; }
  };
}

function milestoneCard(a, m, attestations, t, my, now) {
  const mine = attestations.filter((x) => x.milestone_index === m.index).sort((x, y) => x.observed_at - y.observed_at);
  const latest = mine[mine.length - 1];
  const dir = m.higher_is_better ? "at least" : "at most";
  const actions = [];
  if (a.status === "active" && m.status === "open") {
    if (my === "client" && m.requires_client_approval && !m.client_approved) actions.push(["approve", "Approve the delivery"]);
    if (my === "provider") actions.push(["release", "Request release (the oracles measure now)"]);
    if (my === "provider" && latest && latest.complete && !latest.meets_target) actions.push(["accept-partial", `Accept the partial result (${metric(latest.value, m)})`, latest.digest]);
    if (my === "client" || my === "provider") actions.push(["dispute", "Dispute"]);
    if (my === "client" && now > m.deadline + a.cure_window) actions.push(["reclaim", "Reclaim (deadline and cure window passed)"]);
  }
  const holdback = m.holdback && m.holdback !== "0"
    ? `<div><strong>Holdback</strong><br>${money(m.holdback, t)} ${esc(m.holdback_status)}${m.holdback_status === "held" ? `, releases ${date(m.settled_at + m.holdback_period)}` : ""}</div>` : "";
  const marks = [{ y: Number(m.floor), label: "floor" }, { y: Number(m.target), label: "target" }];
  if (m.stretch !== m.target) marks.push({ y: Number(m.stretch), label: "stretch" });
  const chart = mine.length
    ? lineChart(`${m.spec.name} over time against floor, target and stretch`, mine.map((x) => ({ x: x.observed_at, y: Number(x.value) })), marks,
      (x) => date(x).slice(0, 10), (y) => metricText(Math.round(y), m))
    : `<p class="muted">No attestation yet.</p>`;
  return `<section aria-labelledby="m${m.index}"><h3 id="m${m.index}">${m.index + 1}. ${esc(m.title)} ${badge(m.status)}</h3>
    <div class="grid">
      <div><strong>Metric</strong><br>${esc(m.spec.name)} (${esc(m.spec.aggregation || "latest")})</div>
      <div><strong>Target</strong><br>${dir} ${metric(m.target, m)}</div>
      <div><strong>Floor / stretch</strong><br>${metric(m.floor, m)} / ${metric(m.stretch, m)}</div>
      <div><strong>Latest attested</strong><br>${latest ? `<a href="#/agreements/${a.id}/attestations/${latest.digest}">${metric(latest.value, m)}</a> (${latest.signers.length} of ${latest.threshold} signatures)` : "none"}</div>
      <div><strong>Amount + bonus</strong><br>${money(m.amount, t)} + ${money(m.bonus, t)}</div>
      <div><strong>Deadline</strong><br>${date(m.deadline)}</div>
      <div><strong>Late penalty</strong><br>${m.late_penalty_bps_per_day / 100}%/day, at most ${m.max_late_penalty_bps / 100}%</div>
      ${m.paid_now ? `<div><strong>Paid</strong><br>${money(m.paid_now, t)} (refunded ${money(m.refund, t)})</div>` : ""}${holdback}
    </div>${chart}
    <div class="actions">${actions.map(([k, label, digest]) => `<button data-action="${k}" data-index="${m.index}" data-digest="${digest || ""}">${esc(label)}</button>`).join("")}</div></section>`;
}

function whatIfForm(a) {
  const options = a.milestones.map((m) => `<option value="${m.index}">${m.index + 1}. ${esc(m.title)}</option>`).join("");
  const m = a.milestones[0];
  return `<form class="grid"><div><label for="wi-m">Milestone</label><select id="wi-m" name="index">${options}</select></div>
    <div><label for="wi-v">Value (${esc(m.spec.unit)})</label><input id="wi-v" name="value" type="number" step="any" required value="${Number(m.target) / 10 ** m.spec.decimals}"></div>
    <div><label for="wi-t">Observed at (UTC)</label><input id="wi-t" name="at" type="datetime-local" required value="${new Date(m.deadline * 1000).toISOString().slice(0, 16)}"></div>
    <div><label>&nbsp;</label><button>What would be paid?</button></div></form><p><output for="wi-m wi-v wi-t"></output></p>`;
}

function timeline(a, report, attestations) {
  // consents and attestations come before the chain events of the same second (they cause them); the sort is stable
  const items = report.consents.map((c) => ({ at: c.at, html: `${esc(c.role)} consented (EIP-712 signature)` }))
    .concat(attestations.map((x) => ({ at: x.received_at, html: `attestation for milestone ${x.milestone_index + 1}: `
      + `<a href="#/agreements/${a.id}/attestations/${x.digest}">${metric(x.value, a.milestones[x.milestone_index])}</a>, ${x.signers.length} signatures` })))
    .concat(report.events.map((e) => ({ at: e.block_time, html: `${esc(e.name)}${e.args.index !== undefined ? ` (milestone ${Number(e.args.index) + 1})` : ""}`, tx: e.tx_hash })))
    .sort((x, y) => x.at - y.at);
  return `<table><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Transaction</th></tr></thead><tbody>${items
    .map((i) => `<tr><td>${date(i.at)}</td><td>${i.html}</td><td class="hash">${i.tx ? esc(i.tx) : ""}</td></tr>`).join("") || `<tr><td colspan="3">Nothing yet.</td></tr>`}</tbody></table>`;
}

/** An action on the agreement: a signature or the transactions the API prepares, with each transaction's state shown. */
async function act(a, action, index, digest) {
  const progress = view.querySelector("#progress");
  const show = (i, state, detail) => {
    const id = `tx-${i}`;
    let line = progress.querySelector(`#${id}`);
    if (!line) { line = document.createElement("p"); line.id = id; line.className = "tx"; progress.append(line); }
    line.innerHTML = `${badge(state)} <span class="hash">${esc(detail)}</span>`;
  };
  progress.innerHTML = "";
  try {
    const escrow = a.escrow, base = `/v1/agreements/${a.id}`;
    if (action === "propose") await api("POST", `${base}/propose`);
    else if (action === "consent") {
      const data = await api("GET", `${base}/typed-data`);
      await api("POST", `${base}/consents`, { signature: await signTypedData(data.typed_data) });
    } else if (action === "accept-partial") {
      const path = `${base}/milestones/${index}/accept-partial`;
      const data = await api("GET", `${path}?attestation=${digest}`);
      await api("POST", path, { attestation: digest, signature: await signTypedData(data.typed_data) });
      toast("Accepted: the relayer settles the partial payment.");
    } else if (action === "release") {
      const answer = await api("POST", `${base}/milestones/${index}/request-release`);
      toast(`The oracles measured: ${answer.nodes.map((n) => (n.ok ? n.value : n.detail)).join(", ")}`);
    } else {
      const prepared = {
        fund: () => api("POST", `${base}/transactions/fund`),
        approve: () => api("POST", `${base}/transactions/approve`, { index }),
        dispute: () => api("POST", `${base}/transactions/dispute`, { index }),
        reclaim: () => api("POST", `${base}/transactions/reclaim`, { index }),
        withdraw: () => api("POST", "/v1/transactions/withdraw", { token: a.token === ETH ? null : a.token, to: view.querySelector("#withdraw-to").value.trim() || null }),
      }[action];
      const { transactions } = await prepared();
      await sendAll(transactions, escrow, show);
    }
    toast("Done.");
    const log = progress.innerHTML;
    await agreementPage(a.id);
    view.querySelector("#progress").innerHTML = log; // the confirmed transactions stay in view
  } catch (e) {
    const line = document.createElement("p");
    line.className = "error";
    line.textContent = e.message ? walletReason(e) : String(e);
    progress.append(line);
  }
}

// ------------------------------------------------------------------ one attestation

async function attestationPage(pk, digest) {
  const report = await api("GET", `/v1/agreements/${pk}/audit-report`);
  const x = report.attestations.find((r) => r.digest.toLowerCase() === digest.toLowerCase());
  if (!x) throw new Error(`No attestation ${digest} for this agreement.`);
  const m = report.agreement.milestones[x.milestone_index];
  const an = x.anchoring;
  let anchoring = "not anchored yet (oracles anchor their signed attestations in periodic Merkle batches)";
  if (an.root) {
    anchoring = `in the batch with root <span class="hash">${esc(an.root)}</span> (${an.batch_size} attestations, anchored by <span class="hash">${esc(an.anchorer)}</span>`
      + ` at ${date(an.anchored_at)}); the registry ${an.anchored ? "confirms" : "does NOT confirm"} the inclusion proof:`
      + `<ol>${an.proof.map((p) => `<li class="hash">${esc(p)}</li>`).join("")}</ol>`;
  }
  view.innerHTML = `<h1>Attestation for “${esc(m.title)}”</h1><section><table><tbody>
    <tr><th scope="row">Value</th><td>${metric(x.value, m)} (${x.meets_target ? "meets" : "below"} the target ${metric(m.target, m)})</td></tr>
    <tr><th scope="row">Observed at</th><td>${date(x.observed_at)}</td></tr>
    <tr><th scope="row">Valid until</th><td>${date(x.expires_at)}</td></tr>
    <tr><th scope="row">Digest (EIP-712)</th><td class="hash">${esc(x.digest)}</td></tr>
    <tr><th scope="row">Evidence hash</th><td><span class="hash">${esc(x.evidence_hash)}</span> <span class="muted">(keccak256 of the raw evidence the oracles published)</span>
      <div class="actions"><button class="secondary" id="evidence">Download the evidence</button></div></td></tr>
    <tr><th scope="row">Metric id</th><td class="hash">${esc(x.metric_id)}</td></tr>
    <tr><th scope="row">Signers</th><td>${x.signers.map((s) => `<div class="hash">${esc(s)}</div>`).join("")} ${x.signers.length} of the threshold ${x.threshold}</td></tr>
    <tr><th scope="row">Anchoring</th><td>${anchoring}</td></tr>
    <tr><th scope="row">Revoked</th><td>${x.anchoring.revoked ? `<span class="error">yes: it can no longer settle anything</span>` : "no"}</td></tr>
    </tbody></table></section><p><a href="#/agreements/${pk}">Back to the agreement</a></p>`;
  view.querySelector("#evidence").onclick = () => openDocument(`/v1/evidence/${x.evidence_hash}`).catch((e) => toast(e.message));
}

// ------------------------------------------------------------------ new agreement

const MILESTONE_FIELDS = [
  ["title", "Title", "text", "Model accuracy >= 92%"], ["amount", "Amount", "number", "1000"], ["bonus", "Bonus (max)", "number", "100"],
  ["floor", "Floor", "number", "0.80"], ["target", "Target", "number", "0.92"], ["stretch", "Stretch", "number", "0.96"],
  ["floor_payout_bps", "Paid at floor (%)", "number", "50"], ["deadline", "Deadline (UTC)", "datetime-local", ""],
  ["late_penalty_bps_per_day", "Late penalty (%/day)", "number", "1"], ["max_late_penalty_bps", "Max late penalty (%)", "number", "10"],
  ["holdback_bps", "Holdback (%)", "number", "10"], ["holdback_period", "Holdback period (days)", "number", "30"],
];
const SPEC = { name: "model accuracy", version: 1, unit: "fraction", decimals: 4, higher_is_better: true, aggregation: "latest",
  source: { kind: "model_eval", path: "predictions.jsonl", metric: "accuracy" } };

async function newPage() {
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

// ------------------------------------------------------------------ portfolio

async function portfolioPage() {
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
      rows.map((r) => ({ label: r.date.slice(5), values: [n(r.best), n(r.expected), n(r.worst)] })), ["best", "expected", "worst"],
      (y) => y.toLocaleString("en-US", { maximumFractionDigits: 0 }))}</section>`;
  }));
  view.innerHTML = `<h1>Portfolio</h1><section><div class="grid">
    <div><strong>Agreements</strong><br>${p.agreements} (${p.funded_agreements} funded)</div>
    <div><strong>Milestones settled</strong><br>${p.milestones_settled} of ${p.milestones_due} due</div>
    <div><strong>Completion rate</strong><br>${pct(p.completion_rate)}</div>
    <div><strong>On-time rate</strong><br>${pct(p.on_time_rate)}</div>
    <div><strong>Average lateness</strong><br>${p.average_days_late ?? "n/a"} days</div>
    <div><strong>Achievement vs target</strong><br>${pct(p.average_achievement)}</div></div>
    ${barChart("Completion, on-time and achievement rates (%)", [["completion", p.completion_rate], ["on time", p.on_time_rate],
      ["achievement", p.average_achievement]].map(([label, r]) => ({ label, values: [(r ?? 0) * 100] })), ["rate (%)"], (y) => `${y.toFixed(0)}%`)}</section>
    ${charts.join("") || `<section><p class="muted">No funded agreement yet: nothing to project.</p></section>`}`;
}

window.addEventListener("hashchange", route);
route();
