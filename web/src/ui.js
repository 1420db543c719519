// What every page shares: formatting (amounts by the token's own decimals, metric values by the
// spec's), HTML escaping, the status at a glance, the caller's role, the toast.
import { createPublicClient, custom, erc20Abi, formatUnits } from "viem";
import { api, session } from "./api.js";

export const ETH = "0x0000000000000000000000000000000000000000";
export const DAY = 86400;
export const view = document.getElementById("view");
export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
export const short = (h) => (h ? `${h.slice(0, 8)}…${h.slice(-6)}` : "");
export const date = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
const tokens = new Map();

export async function token(address) {
  if (!address || address === ETH) return { symbol: "ETH", decimals: 18 };
  if (!tokens.has(address)) tokens.set(address, api("GET", `/v1/tokens/${address}`).catch(() => ({ symbol: short(address), decimals: 18 })));
  return tokens.get(address);
}

let explorer; // ATTESTPAY_EXPLORER_URL as /healthz names it: transaction hashes link there when set
export async function loadExplorer() {
  if (explorer === undefined) explorer = (await api("GET", "/healthz").catch(() => ({}))).explorer || null;
}
export const txLink = (hash) => (explorer && hash ? `<a class="hash" href="${esc(explorer)}/tx/${esc(hash)}" rel="noopener" target="_blank">${esc(hash)}</a>` : `<span class="hash">${esc(hash)}</span>`);

// The address book: names this wallet gave to addresses, kept in this browser per wallet.
const bookKey = () => `attestpay.names.${(session()?.address || session()?.apiKey?.slice(0, 8) || "").toLowerCase()}`;
export const names = () => JSON.parse(localStorage.getItem(bookKey()) || "{}");
export function nameAddress(address, name) {
  const book = names();
  if (name) book[address.toLowerCase()] = name; else delete book[address.toLowerCase()];
  localStorage.setItem(bookKey(), JSON.stringify(book));
}
/** A name before its address when the address book has one. */
export const who = (address) => {
  const name = names()[String(address).toLowerCase()];
  return name ? `<strong>${esc(name)}</strong> <span class="hash" title="${esc(address)}">${esc(short(address))}</span>` : `<span class="hash">${esc(address)}</span>`;
};

const CREDITS_ABI = [{ type: "function", name: "credits", stateMutability: "view", inputs: [{ type: "address" }, { type: "address" }], outputs: [{ type: "uint256" }] }];

/** What the escrow credited to `account` in `tokenAddress` (payments it could not push), from the chain. */
export async function credited(escrow, tokenAddress, account) {
  try {
    const chain = createPublicClient({ transport: custom(window.ethereum) });
    return await chain.readContract({ address: escrow, abi: CREDITS_ABI, functionName: "credits", args: [tokenAddress, account] });
  } catch {
    return 0n;
  }
}

// Both return HTML-safe text: a token's symbol and a metric's unit come from whoever deployed or drafted them.
// Exact, thousands separated, no trailing zeros: the dashboard's twin of attestpay.tokens.format_amount ("1,050 mUSD").
export const money = (amount, t) => {
  const text = formatUnits(BigInt(amount ?? 0), t.decimals), negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace("-", "").split(".");
  const digits = fraction.replace(/0+$/, "");
  return `${negative ? "-" : ""}${BigInt(whole).toLocaleString("en-US")}${digits ? `.${digits}` : ""} ${esc(t.symbol)}`;
};
export const metricText = (value, m) => `${Number(value) / 10 ** m.spec.decimals} ${m.spec.unit}`; // for the charts, which escape
export const metric = (value, m) => esc(metricText(value, m));

/** The status at a glance: what the agreement waits for. */
export function stage(a) {
  if (a.status === "draft" || a.status === "proposed") return "awaiting consent";
  if (a.status === "consented") return "awaiting funds";
  if (a.status === "completed") return "complete";
  if (a.status === "cancelled") return "cancelled";
  if (a.milestones.some((m) => m.status === "disputed" || m.holdback_status === "disputed")) return "disputed";
  if (a.milestones.every((m) => m.status !== "open")) return "settled";
  return "in progress";
}
export const badge = (text) => `<span class="badge ${esc(text.replace(/ /g, "-"))}">${esc(text)}</span>`;
export const role = (a, address) => ["client", "provider", "arbiter"].find((r) => a[r].toLowerCase() === address.toLowerCase()) || (session().apiKey ? "auditor" : "observer");

export function toast(text) {
  const p = document.createElement("p");
  p.textContent = text;
  document.getElementById("toast").append(p);
  setTimeout(() => p.remove(), 6000);
}
