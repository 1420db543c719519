// The viewer's invoices and credit notes (every one for an auditor), each downloadable as the EN 16931
// e-invoice a buyer's system ingests (Factur-X PDF, UBL, CII) and as the printable HTML (docs/finance.md).
import { api, download } from "../api.js";
import { view, esc, date, toast } from "../ui.js";

const FORMATS = [["facturx", "Factur-X PDF"], ["ubl", "UBL XML"], ["cii", "CII XML"]];

/** Which document the payment is: a holdback release (and a holdback all awarded to the provider) pays the
 * settlement's invoice, a dispute split of a settled milestone's holdback is a credit note. */
function documentOf(i, settled) {
  if (i.kind === "settlement") return { label: "invoice", einvoice: true };
  if (i.kind === "dispute" && !settled.has(i.milestone_index)) return { label: "invoice (dispute split)", einvoice: true };
  if (i.kind === "dispute" && BigInt(i.refund_to_client)) return { label: "credit note (holdback returned in a dispute split)", einvoice: true };
  return { label: "payment of the settlement invoice's amount due", einvoice: false };
}

export async function invoicesPage() {
  const found = [];
  for (const a of await api("GET", "/v1/agreements")) {
    const numbers = await api("GET", `/v1/agreements/${a.id}/invoices`);
    const mine = await Promise.all(numbers.map((n) => api("GET", `/v1/invoices/${encodeURIComponent(n)}`)));
    const settled = new Set(mine.filter((i) => i.kind === "settlement").map((i) => i.milestone_index));
    found.push(...mine.map((i) => ({ ...i, pk: a.id, document: documentOf(i, settled) })));
  }
  found.sort((x, y) => y.issued_at - x.issued_at);
  const rows = found.map((i) => `<tr><td><strong>${esc(i.number)}</strong><br><span class="muted">${date(i.issued_at)}</span></td>
    <td><a href="#/agreements/${i.pk}">${esc(i.agreement_title)}</a>, milestone ${i.milestone_number} (${esc(i.milestone_title)})<br>
      <span class="muted">${i.document.label}</span>
      <div class="actions" aria-label="Download ${esc(i.number)}">${(i.document.einvoice ? FORMATS : []).concat([["html", "HTML"]]).map(([f, label]) =>
        `<button class="secondary" data-number="${esc(i.number)}" data-format="${f}">${label}</button>`).join("")}</div></td>
    <td class="amount">${esc(i.total_display)} to the provider${BigInt(i.refund_to_client) ? `<br>${esc(i.refund_to_client_display)} back to the client` : ""}</td></tr>`).join("");
  view.innerHTML = `<h1>Invoices</h1><section><p>An invoice for each milestone settled and each dispute split paid to a provider, a credit note where a dispute
    returns a holdback to the client; a released holdback pays its settlement invoice. The e-invoices follow EN 16931 and name each party by the
    profile it signed: a party without a profile has none yet.</p></section>
    <section class="scroll"><table id="invoices"><thead><tr><th scope="col">number</th><th scope="col">for, and the documents to download</th><th scope="col">amount</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="3">No invoices yet: one is issued when a milestone settles.</td></tr>`}</tbody></table></section>`;
  for (const button of view.querySelectorAll("button[data-format]")) {
    button.onclick = () => {
      const { number, format } = button.dataset;
      download(`/v1/invoices/${encodeURIComponent(number)}/${format}`, `${number}.html`)
        .then((name) => toast(`Saved ${name}.`), (e) => toast(e.message));
    };
  }
}
