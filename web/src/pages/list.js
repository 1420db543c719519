// The agreements list: every agreement of the wallet (all for an auditor), its status at a glance, a filter.
import { api, openDocument, session } from "../api.js";
import { view, esc, token, money, stage, badge, role, toast } from "../ui.js";

export async function listPage() {
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
    view.querySelector("#rows").innerHTML = shown.map((r) => r.html).join("") || `<tr><td colspan="5">None.${auditor ? "" : ` <a href="#/new">Draft an agreement</a>`}</td></tr>`;
  };
  if (auditor) view.querySelector("#audit").onclick = () => openDocument("/v1/reports/audit/html").catch((e) => toast(e.message));
  view.querySelector("#filter").onchange = show;
  show();
}
