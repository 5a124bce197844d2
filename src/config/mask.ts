// Config values that may carry credentials, masked for `ferry check-config` and GET /api/v1/config.
const SECRET_KEY = /(tokens?|secrets?|api_?keys?|passwords?|authorization|signatures?)$/i;

/** A URL with any user:password@ removed (the rest stays readable). */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
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
  if (/url$/i.test(key)) return withoutCredentials(value);
  return value;
}
