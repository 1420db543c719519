// A party's double-entry journal for a period: shown with the period close that ties it to the chain, and
// downloaded as the CSV that Xero or QuickBooks Online imports (docs/finance.md).
import { api, download, session } from "../api.js";
import { view, esc, token, money, txLink, loadExplorer } from "../ui.js";

const FORMATS = [["xero", "Xero (manual journal CSV)"], ["quickbooks", "QuickBooks Online (journal entry CSV)"], ["json", "JSON (exact token amounts and the close)"]];
const day = (d) => d.toISOString().slice(0, 10);

function query(form) {
  const q = new URLSearchParams({ from: form.querySelector("#from").value, to: form.querySelector("#to").value });
  const wallet = form.querySelector("#wallet")?.value.trim();
  if (wallet) q.set("wallet", wallet);
  return q;
}

async function show(journal) {
  const sum = (e, side) => e.postings.reduce((s, p) => s + Number(p[`${side}_fiat`]), 0).toFixed(2);
  const rows = journal.entries.map((e) => `<tr><td>${esc(e.date)}</td><td>${esc(e.narration)}${e.invoice ? `<br><span class="muted">invoice ${esc(e.invoice)}</span>` : ""}
    <br>${txLink(e.tx_hash)}</td><td class="amount">${sum(e, "debit")} / ${sum(e, "credit")} ${esc(e.currency)}</td></tr>`).join("");
  const close = await Promise.all(Object.entries(journal.close).map(async ([address, c]) => {
    const t = await token(address);
    return `<li>${esc(t.symbol)}: the journal books ${money(c.journal, t)}, the chain moved ${money(c.chain, t)}: ${c.ties ? "<strong>ties</strong>" : `<strong class="error">does not tie</strong>`}</li>`;
  }));
  return `<h2>${journal.entries.length} entries, ${esc(journal.from)} to ${esc(journal.to)} (the day after)</h2>
    <section><p>Period close, per token:</p><ul id="close">${close.join("") || "<li>nothing moved in this period</li>"}</ul>
    ${Object.values(journal.close).some((c) => !c.ties) ? `<p class="muted">A payment the escrow credited (the wallet refused it) and that was then withdrawn
      to another address never reaches this wallet on chain; see docs/finance.md, "Journals".</p>` : ""}</section>
    <section class="scroll"><table id="entries"><thead><tr><th scope="col">date</th><th scope="col">entry</th><th scope="col">debits / credits</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="3">No entries in this period.</td></tr>`}</tbody></table></section>`;
}

export async function journalsPage() {
  await loadExplorer();
  const auditor = Boolean(session().apiKey), today = new Date();
  const first = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
  const next = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 1));
  view.innerHTML = `<h1>Journals</h1><section><form id="journal"><div class="grid">
      <div><label for="from">From (first day, UTC)</label><input id="from" type="date" value="${day(first)}" required></div>
      <div><label for="to">To (the day after the period)</label><input id="to" type="date" value="${day(next)}" required></div>
      <div><label for="format">Format</label><select id="format">${FORMATS.map(([v, label]) => `<option value="${v}">${label}</option>`).join("")}</select></div>
      ${auditor ? `<div><label for="wallet">Whose journal (a party's address)</label><input id="wallet" required placeholder="0x…"></div>` : ""}</div>
    <div class="actions"><button id="show" type="button" class="secondary">Show the entries</button><button id="download">Download</button></div>
    <p class="error" role="alert" id="journal-error"></p></form></section><div id="journal-view"></div>`;
  const form = view.querySelector("#journal"), error = view.querySelector("#journal-error");
  const attempt = (work) => async (event) => {
    event.preventDefault();
    error.textContent = "";
    try { await work(); } catch (e) { error.textContent = e.message; }
  };
  view.querySelector("#show").onclick = attempt(async () => {
    view.querySelector("#journal-view").innerHTML = await show(await api("GET", `/v1/reports/journal?${query(form)}`));
  });
  form.onsubmit = attempt(async () => {
    const q = query(form), format = form.querySelector("#format").value;
    q.set("format", format);
    await download(`/v1/reports/journal?${q}`, `journal-${q.get("from")}-${q.get("to")}.json`);
  });
}
