// The dashboard: a hash-routed single page over the backend's API. Every value shown comes from the
// API or the chain; every action is a message or transaction the user's wallet signs.
import { api, endSession, keepSession, session } from "./api.js";
import { signIn, walletReason } from "./wallet.js";
import { listPage } from "./pages/list.js";
import { agreementPage } from "./pages/agreement.js";
import { attestationPage } from "./pages/attestation.js";
import { newPage } from "./pages/new.js";
import { portfolioPage } from "./pages/portfolio.js";
import { designPage } from "./pages/design.js";
import { upcomingPage } from "./pages/upcoming.js";
import { profilePage, profileOfPage } from "./pages/profile.js";
import { invoicesPage } from "./pages/invoices.js";
import { journalsPage } from "./pages/journals.js";
import { view, esc, short, role, toast } from "./ui.js";

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
  [/^#\/upcoming$/, upcomingPage],
  [/^#\/invoices$/, invoicesPage],
  [/^#\/journals$/, journalsPage],
  [/^#\/profile$/, profilePage],
  [/^#\/profiles\/(0x[0-9a-fA-F]{40})$/, profileOfPage],
  [/^#\/design$/, designPage],
  [/^#\/agreements\/(\d+)$/, agreementPage],
  [/^#\/agreements\/(\d+)\/attestations\/(0x[0-9a-fA-F]{64})$/, attestationPage],
];

let drawing = Promise.resolve(); // the page being drawn: the next waits for it, or a slow page would draw over it
let queued = false;

/** Draws the page the address names, after the one still loading; navigations queued meanwhile draw once. */
function route() {
  if (!queued) {
    queued = true;
    const draw = () => { queued = false; return drawPage(); };
    drawing = drawing.then(draw, draw);
  }
  return drawing;
}

async function drawPage() {
  renderWallet();
  const auditor = Boolean(session()?.apiKey); // an auditor reads; it drafts, designs and signs nothing
  for (const link of document.querySelectorAll("nav a")) {
    const edits = ["#/new", "#/design", "#/profile"].includes(link.getAttribute("href"));
    link.hidden = !session() || (edits && auditor);
    if (link.getAttribute("href") === (location.hash || "#/")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
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

window.addEventListener("hashchange", route);
route();
