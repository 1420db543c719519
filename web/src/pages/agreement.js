// One agreement: milestones with their chart, the what-if preview, the timeline, documents, and the wallet actions.
import { ETH, DAY, view, esc, short, date, token, credited, money, metricText, metric, stage, badge, role, toast, who, names, nameAddress, txLink, loadExplorer } from "../ui.js";
import { api, download, openDocument, session } from "../api.js";
import { lineChart } from "../chart.js";
import { sendAll, signTypedData, walletReason } from "../wallet.js";
import { compute } from "../payout.js";

const POLL_MS = 3000; // the page follows the agreement while it is shown: the worker settles after an action
let watching = null;

/** What accepting `value` observed at `observedAt` pays, by the contract's formula (the API's preview agrees). */
function payoutAt(m, value, observedAt) {
  const n = (x) => BigInt(x);
  return compute({
    amount: n(m.amount), bonus: n(m.bonus), floor: n(m.floor), target: n(m.target), stretch: n(m.stretch),
    deadline: n(m.deadline), floorPayoutBps: n(m.floor_payout_bps), latePenaltyBpsPerDay: n(m.late_penalty_bps_per_day),
    maxLatePenaltyBps: n(m.max_late_penalty_bps), holdbackBps: n(m.holdback_bps), higherIsBetter: m.higher_is_better,
  }, n(value), n(observedAt));
}

/** Re-render when the agreement changes (a settlement by the worker, the other party's action). */
function watch(a) {
  clearTimeout(watching);
  const here = location.hash;
  const seen = JSON.stringify(a.milestones.map((m) => [m.status, m.client_approved, m.holdback_status])) + a.status;
  watching = setTimeout(async () => {
    if (location.hash !== here || document.activeElement?.matches("input, select, textarea")) return watch(a);
    try {
      const now = await api("GET", `/v1/agreements/${a.id}`);
      const state = JSON.stringify(now.milestones.map((m) => [m.status, m.client_approved, m.holdback_status])) + now.status;
      if (state !== seen && location.hash === here) {
        const log = view.querySelector("#progress")?.innerHTML ?? "";
        await agreementPage(a.id);
        const progress = view.querySelector("#progress");
        if (progress) progress.innerHTML = log;
        return;
      }
    } catch (e) { /* the next poll tries again */ }
    if (location.hash === here) watch(a);
  }, POLL_MS);
}

export async function agreementPage(pk) {
  const [a, report, attestations, invoices, requests] = await Promise.all([
    api("GET", `/v1/agreements/${pk}`), api("GET", `/v1/agreements/${pk}/audit-report`),
    api("GET", `/v1/agreements/${pk}/attestations`), api("GET", `/v1/agreements/${pk}/invoices`),
    api("GET", `/v1/agreements/${pk}/release-requests`),
  ]);
  await loadExplorer();
  const t = await token(a.token), me = session().address, my = role(a, me), now = Math.floor(Date.now() / 1000);
  const consented = a.consents.some((c) => c.party.toLowerCase() === me.toLowerCase());
  const top = [];
  if (a.status === "draft" && ["client", "provider", "arbiter"].includes(my)) top.push(["propose", "Propose these terms"]);
  if (a.status === "proposed" && (my === "client" || my === "provider") && !consented) top.push(["consent", "Consent with your wallet"]);
  if (a.status === "consented" && my === "client") top.push(["fund", "Fund the escrow"]);
  if (a.status === "consented" && my === "client" && a.token !== ETH) {
    top.push(["fund-with-permit", "Fund with one signature (permit, one transaction)"]);
    top.push(["fund-gasless", "Fund with one signature, gas paid by the relayer"]);
  }
  const credit = ["observer", "auditor"].includes(my) ? 0n : await credited(a.escrow, a.token, me);

  view.innerHTML = `<h1>${esc(a.title)} ${badge(stage(a))}</h1>
    <section><div class="grid">
      ${[["Client", a.client], ["Provider", a.provider], ["Arbiter", a.arbiter]].map(([label, address]) => `<div><strong>${label}</strong><br>${address === ETH ? "none"
        : `${who(address)} <button class="link" data-name="${esc(address)}" aria-label="Name the ${label.toLowerCase()} in your address book">name…</button>`}</div>`).join("")}
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
    <h2>Milestones</h2>${a.milestones.map((m) => milestoneCard(a, m, attestations, t, my, now, requests.find((r) => r.milestone_index === m.index))).join("")}
    <h2>What if</h2><section id="whatif">${whatIfForm(a)}</section>
    <h2>Timeline</h2><section class="scroll">${timeline(a, report, attestations)}</section>
    <h2>Documents</h2><section><div class="actions">
      <button class="secondary" id="print">Print this page</button>
      ${["active", "completed"].includes(a.status) ? `<button class="secondary" id="audit-pack">Audit pack (zip)</button>` : ""}
      ${invoices.map((n) => `<button class="secondary" data-doc="/v1/invoices/${esc(n)}/html">Invoice ${esc(n)}</button>`).join("") || `<span class="muted">No invoices yet: one is issued for each settlement, dispute split and holdback payment.</span>`}
    </div>${invoices.length ? `<p class="muted">As e-invoices (Factur-X PDF, UBL, CII): <a href="#/invoices">Invoices</a>.</p>` : ""}</section>`;

  for (const button of view.querySelectorAll("button[data-action]")) button.onclick = () => act(a, button.dataset.action, Number(button.dataset.index), button.dataset.digest);
  view.querySelector("#print").onclick = () => window.print();
  const pack = view.querySelector("#audit-pack");  // for an external auditor: `attestpay verify --pack` re-checks it offline
  if (pack) pack.onclick = () => download(`/v1/agreements/${a.id}/audit-pack`, `audit-pack-${a.id}.zip`).catch((e) => toast(e.message));
  for (const button of view.querySelectorAll("button[data-name]")) {
    button.onclick = () => {
      const name = window.prompt(`A name for ${button.dataset.name} (empty: forget it)`, names()[button.dataset.name.toLowerCase()] || "");
      if (name !== null) { nameAddress(button.dataset.name, name.trim()); agreementPage(a.id); }
    };
  }
  watch(a);
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

const NODE_STATES = { pending: "waiting", asked: "asked", signed: "measured and signed", refused: "refused", timed_out: "timed out", failed: "failed" };

/** What each oracle node answered to a release request: value and digest, or why not. */
function nodeLines(request, m) {
  return request.answers.filter((n) => n.round === request.round).map((n) => `<li>${esc(n.node)}: ${NODE_STATES[n.status] || esc(n.status)}${
    n.value !== null ? ` ${metric(n.value, m)}, evidence <span class="hash">${esc(short(n.evidence_hash))}</span>, digest <span class="hash">${esc(short(n.digest))}</span>` : ""}${
    n.detail && n.status !== "signed" ? ` (${esc(n.detail)})` : ""}</li>`).join("");
}

function requestCard(request, m) {
  if (!request) return "";
  const title = { measuring: "The oracles are measuring", agreed: "The oracles agree", failed: "Too few oracles answered", disagree: "Oracles disagree" }[request.status];
  const advice = request.status === "disagree"
    ? "<p>They measured again at a new common time and still differ: nothing settles by itself. Either party may dispute; a result signed by enough oracles can be accepted as a partial result.</p>" : "";
  return `<div class="card${request.status === "disagree" ? " error" : ""}" data-release="${request.id}"><strong>${title}</strong> (${esc(request.trigger)}, observed ${date(request.observed_at)}${request.round > 1 ? ", measured twice" : ""})
    ${advice}<ul>${nodeLines(request, m)}</ul></div>`;
}

function milestoneCard(a, m, attestations, t, my, now, request) {
  const mine = attestations.filter((x) => x.milestone_index === m.index).sort((x, y) => x.observed_at - y.observed_at);
  const latest = mine[mine.length - 1];
  const dir = m.higher_is_better ? "at least" : "at most";
  const actions = [], warnings = [];
  if (a.status === "active" && m.status === "open") {
    if (my === "client" && m.requires_client_approval && !m.client_approved) actions.push(["approve", "Approve the delivery"]);
    if (my === "provider") actions.push(["release", "Request release (the oracles measure now)"]);
    if (my === "provider" && latest && latest.complete && !latest.meets_target) {
      const p = payoutAt(m, latest.value, latest.observed_at);
      actions.push(["accept-partial", `Accept the partial result (${metric(latest.value, m)}): pays ${money(p.paidNow, t)} now`, latest.digest]);
      if (p.net === 0n) warnings.push(`Below the floor: accepting ${metric(latest.value, m)} pays the provider ${money(0n, t)} and refunds ${money(p.refund, t)} to the client.`);
    }
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
    </div>${requestCard(request, m)}${chart}
    ${warnings.map((w) => `<p class="error" role="alert">${esc(w)}</p>`).join("")}
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
    .map((i) => `<tr><td>${date(i.at)}</td><td>${i.html}</td><td>${i.tx ? txLink(i.tx) : ""}</td></tr>`).join("") || `<tr><td colspan="3">Nothing yet.</td></tr>`}</tbody></table>`;
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
    } else if (action === "fund-gasless") {
      const permit = await api("GET", `${base}/funding-permit`);
      await api("POST", `${base}/gasless-funding`, { deadline: permit.deadline, signature: await signTypedData(permit.typed_data) });
      toast("Signed: the relayer registers and funds the escrow.");
    } else if (action === "release") {
      let request = await api("POST", `${base}/milestones/${index}/request-release`);
      const m = a.milestones[index], line = document.createElement("div");
      progress.append(line);
      for (;;) { // the workers ask the nodes; their answers arrive one by one
        line.innerHTML = requestCard(request, m);
        if (request.status !== "measuring") break;
        await new Promise((resolve) => setTimeout(resolve, 500));
        request = await api("GET", `/v1/release-requests/${request.id}`);
      }
      toast(request.status === "agreed" ? "The oracles agree: a result that meets the target settles by itself." : `The oracles ended: ${request.status}.`);
    } else {
      const prepared = {
        fund: () => api("POST", `${base}/transactions/fund`),
        "fund-with-permit": async () => {
          const permit = await api("GET", `${base}/funding-permit`);
          const signature = await signTypedData(permit.typed_data);
          return api("POST", `${base}/transactions/fund-with-permit`, { deadline: permit.deadline, signature });
        },
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
