// What falls due next across the viewer's funded agreements: due dates, cure windows, holdback releases.
import { api, session } from "../api.js";
import { view, esc, token, money, date, role } from "../ui.js";

/** The dates ahead (and those passed with nothing done), oldest first, each amount signed by the viewer's
 * side: + comes to you, - leaves you; an arbiter or an auditor sees amounts unsigned. */
export async function upcomingRows() {
  const me = session().address, rows = [];
  for (const a of await api("GET", "/v1/agreements")) {
    if (a.status !== "active") continue;
    const t = await token(a.token), my = me ? role(a, me) : "auditor";
    const toProvider = my === "provider" ? "+" : my === "client" ? "-" : "";
    const toClient = my === "client" ? "+" : my === "provider" ? "-" : "";
    for (const m of a.milestones) {
      const what = `<a href="#/agreements/${a.id}">${esc(a.title)}</a>, milestone ${m.index + 1} (${esc(m.title)})`;
      if (m.status === "open") {
        const bonus = BigInt(m.bonus) ? ` (bonus up to ${money(m.bonus, t)})` : "";
        rows.push({ at: m.deadline, kind: "due", text: `due: ${what}`, amount: `${toProvider}${money(m.amount, t)}${bonus}` });
        rows.push({ at: m.deadline + a.cure_window, kind: "cure window ends", text: `cure window ends: the client may reclaim ${what}`,
          amount: `${toClient}${money(BigInt(m.amount) + BigInt(m.bonus), t)}` });
      }
      if (m.holdback_status === "held") {
        rows.push({ at: m.settled_at + m.holdback_period, kind: "holdback release", text: `holdback released: ${what}`, amount: `${toProvider}${money(m.holdback, t)}` });
      }
    }
  }
  return rows.sort((x, y) => x.at - y.at);
}

/** The rows as a table; `more` is a footer row (the portfolio's link to the whole list). */
export function upcomingTable(rows, more = "") {
  const now = Math.floor(Date.now() / 1000);
  const body = rows.map((r) => `<tr${r.at < now ? ' class="overdue"' : ""}><td>${date(r.at)}${r.at < now ? " <strong>(passed)</strong>" : ""}</td>
    <td>${r.text}</td><td class="amount">${r.amount}</td></tr>`).join("");
  return `<table id="upcoming"><thead><tr><th scope="col">when</th><th scope="col">what</th><th scope="col">amount (+ to you, - from you)</th></tr></thead>
    <tbody>${body || `<tr><td colspan="3">Nothing due: no active agreement.</td></tr>`}${more}</tbody></table>`;
}

export async function upcomingPage() {
  const rows = await upcomingRows();
  const counts = [["due", "milestones due"], ["cure window ends", "cure windows ending"], ["holdback release", "holdback releases"]]
    .map(([kind, what]) => [rows.filter((r) => r.kind === kind).length, what]).filter(([n]) => n).map(([n, what]) => `${n} ${what}`);
  view.innerHTML = `<h1>Upcoming</h1><section><p>${counts.join(", ") || "Nothing ahead"}. Dates are UTC; amounts are signed by your side:
    + comes to you, - leaves you.</p>
    ${upcomingTable(rows)}</section>`;
}
