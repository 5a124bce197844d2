// Config values that may carry credentials, masked for `ferry check-config` and GET /api/v1/config.
const SECRET_KEY = /(tokens?|secrets?|api_?keys?|passwords?|authorization|signatures?)$/i;

/**
 * A URL as ferry shows it anywhere (API answers, /health, check-config): no user:password@, and
 * every query value masked (`?token=***`), since subscribers often put their key there. Names
 * stay, so an operator can still tell which parameters are set. Unparseable text stays as it is
 * minus anything that looks like userinfo.
 */
export function displayUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return stripUserinfo(url);
  }
  if (!u.username && !u.password && !u.search) return url; // nothing to hide: shown exactly as configured
  u.username = "";
  u.password = "";
  if (u.search) {
    const masked = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`);
    u.search = masked.join("&");
  }
  return u.toString();
}

const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

/** Userinfo removed from every URL inside free text (error messages, for instance). */
export function stripUserinfo(text: string): string {
  return text.replace(USERINFO, "$1");
}

/** Every string under a key ending in "url" shown with displayUrl, every other string without userinfo. */
export function scrubUrls(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => scrubUrls(v, key));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubUrls(v, k)]));
  if (typeof value !== "string") return value;
  return /url$/i.test(key) ? displayUrl(value) : stripUserinfo(value);
}

/**
 * Masks by key name (tokens, secrets, keys, passwords), every value under a `headers` map (custom
 * headers are where Authorization or X-Api-Key end up) and credentials inside URLs.
 */
export function maskSecrets(value: unknown, key = "", underHeaders = false): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key, underHeaders));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k, key === "headers")]));
  }
  if (typeof value !== "string") return value;
  if (underHeaders || SECRET_KEY.test(key)) return value ? "***" : "";
  if (/url$/i.test(key)) return value ? displayUrl(value) : value;
  return stripUserinfo(value);
}
