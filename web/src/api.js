// The backend's API, same origin: JSON in and out, the session token from sign-in, errors with the API's reason.

const KEY = "attestpay.session";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    const reason = Array.isArray(detail) ? detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ") : detail;
    super(`${reason || "the request failed"} (HTTP ${status})`);
    this.status = status;
  }
}

export function session() {
  const saved = sessionStorage.getItem(KEY);
  return saved ? JSON.parse(saved) : null;
}

/** A wallet's session (SIWE token) or a service's API key (an auditor reading everything). */
export function keepSession(token, address, apiKey = null) {
  sessionStorage.setItem(KEY, JSON.stringify({ token, address, apiKey }));
}

export function endSession() {
  sessionStorage.removeItem(KEY);
}

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const s = session();
  if (s && s.apiKey) h["X-API-Key"] = s.apiKey;
  else if (s) h.Authorization = `Bearer ${s.token}`;
  return h;
}

export async function api(method, path, body) {
  const response = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 300) }; }
  if (response.status === 401) endSession();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Opens a printable document the API serves (HTML) in a new tab; it needs the session header, so it goes through a blob. */
export async function openDocument(path) {
  const response = await fetch(path, { headers: headers(false) });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const url = URL.createObjectURL(await response.blob());
  window.open(url, "_blank", "noopener");
}

/** Saves a document the API serves (an e-invoice, a journal) under the name the API gives it; it needs
 * the session header, so it goes through a blob; `fallback` names a document the API leaves unnamed. */
export async function download(path, fallback) {
  const response = await fetch(path, { headers: headers(false) });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const name = named ? named[1] : fallback;
  const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(await response.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  return name;
}
