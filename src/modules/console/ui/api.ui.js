// The API token lives in this module's variable only: never in storage, a cookie or a URL. Every
// call sends it as a Bearer header, so a page on another origin cannot act with it (no CSRF).
let token = null;
let onRejected = () => {};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function setToken(t) {
  token = t;
}

export function signedIn() {
  return token !== null;
}

/** Called when the server refuses the token (revoked by a config reload, say). */
export function whenRejected(fn) {
  onRejected = fn;
}

/** JSON request to this origin; throws ApiError with the server's message for non-2xx (except `accept`ed statuses). */
export async function api(method, path, body, { accept = [] } = {}) {
  if (token === null) throw new ApiError(401, "not signed in");
  const headers = { authorization: `Bearer ${token}`, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
  let data = null;
  try {
    data = await res.json();
  } catch {
    // not JSON: handled below
  }
  if (res.status === 401) {
    onRejected();
    throw new ApiError(401, "the server refused the token");
  }
  if (!res.ok && !accept.includes(res.status)) throw new ApiError(res.status, data?.error?.message ?? `HTTP ${res.status}`);
  return data;
}

/** Checks a token without keeping it: true when /api/v1/config (API tokens only) accepts it. */
export async function tokenAccepted(candidate) {
  const res = await fetch("/api/v1/config", { headers: { authorization: `Bearer ${candidate}` }, credentials: "omit", cache: "no-store" });
  if (res.status === 401) return false;
  if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`);
  return true;
}

export const q = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
};
