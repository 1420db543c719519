// A party's profile: the legal identity its invoices name. The wallet signs each new version (EIP-712,
// the PartyProfile message the API prepares from attestpay.profiles, every field shown in the wallet).
import { api, ApiError, session } from "../api.js";
import { view, esc, date, toast } from "../ui.js";
import { signTypedData, walletReason } from "../wallet.js";

const ZERO_SCOPE = `0x${"00".repeat(32)}`;
const FIELDS = [
  ["legal_name", "Legal name", true], ["street", "Street and number", true], ["postcode", "Postcode", true],
  ["city", "City", true], ["country", "Country (ISO code: DE, FR, US…)", true], ["vat_id", "VAT id (with its country prefix: DE123456789)"],
  ["registration_id", "Company registration id"], ["email", "E-mail for invoices"], ["iban", "IBAN (where invoices ask to be paid)"],
];

/** Every version, oldest first; none yet is an empty list. */
async function versions(wallet) {
  try {
    return await api("GET", `/v1/profiles/${wallet}?scope=${ZERO_SCOPE}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return [];
    throw e;
  }
}

function historyTable(rows) {
  if (!rows.length) return `<p class="muted">No profile signed yet: invoices cannot name this party until it signs one.</p>`;
  return `<table id="profile-history"><thead><tr><th scope="col">version</th><th scope="col">signed</th><th scope="col">as invoices name it</th></tr></thead><tbody>
    ${[...rows].reverse().map((v) => {
      const f = v.fields;
      const ids = [["VAT", f.vat_id], ["reg.", f.registration_id], ["e-mail", f.email], ["IBAN", f.iban]].filter(([, x]) => x).map(([k, x]) => `${k} ${esc(x)}`);
      return `<tr><td>${v.version}</td><td>${date(v.signed_at)}</td><td><strong>${esc(f.legal_name)}</strong>, ${esc(f.street)}, ${esc(f.postcode)} ${esc(f.city)}, ${esc(f.country)}
        ${ids.length ? `<br><span class="muted">${ids.join(" · ")}</span>` : ""}</td></tr>`;
    }).join("")}</tbody></table>`;
}

/** Someone's profile, read only (a counterparty's, or any for an auditor). */
export async function profileOfPage(wallet) {
  view.innerHTML = `<h1>Profile of <span class="hash">${esc(wallet)}</span></h1><section>${historyTable(await versions(wallet))}</section>`;
}

/** The connected wallet's own profile: the form, signed on saving, and every version so far. */
export async function profilePage() {
  const me = session().address;
  if (session().apiKey) {
    view.innerHTML = `<section><p>An auditor has no profile. A party's profile is at #/profiles/ADDRESS.</p></section>`;
    return;
  }
  const rows = await versions(me), current = rows.at(-1)?.fields || {};
  view.innerHTML = `<h1>Your profile</h1>
    <section><p>Invoices name you by this profile: they are made from the version in force when each is issued. Saving signs a new
      version with your wallet (a signature, no transaction, no gas), so nobody else can change whom your invoices name or where they ask to be paid.</p>
    <form id="profile" novalidate><div class="grid">${FIELDS.map(([k, label, required]) => `<div><label for="p-${k}">${label}${required ? "" : " (optional)"}</label>
      <input id="p-${k}" name="${k}" value="${esc(current[k] || "")}"${required ? " required" : ""}${k === "country" ? ' maxlength="2" autocapitalize="characters"' : ""}></div>`).join("")}</div>
    <div class="actions"><button id="save">${rows.length ? "Sign and save a new version" : "Sign and save your profile"}</button></div>
    <p class="error" role="alert" id="profile-error"></p></form></section>
    <h2>History</h2><section class="scroll">${historyTable(rows)}</section>`;
  view.querySelector("#profile").onsubmit = async (event) => {
    event.preventDefault();
    const error = view.querySelector("#profile-error"), button = view.querySelector("#save");
    const fields = Object.fromEntries(FIELDS.map(([k]) => [k, view.querySelector(`#p-${k}`).value.trim()]));
    const body = { fields, scope: ZERO_SCOPE, version: (rows.at(-1)?.version ?? 0) + 1, signed_at: Math.floor(Date.now() / 1000) };
    error.textContent = "";
    button.disabled = true;
    try {
      const typed = await api("POST", "/v1/profiles/typed-data", body); // the fields as they will be stored (VAT id compacted)
      const m = typed.message;
      if (m.wallet.toLowerCase() !== me.toLowerCase() || m.version !== String(body.version) || m.signedAt !== String(body.signed_at)) {
        throw new Error("the backend prepared another message than this profile: nothing signed");
      }
      const signature = await signTypedData(typed);
      await api("POST", "/v1/profiles", { ...body, signature });
      toast(`Signed: version ${body.version} of your profile.`);
      await profilePage();
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : walletReason(e);
      button.disabled = false;
    }
  };
}
