import { timingSafeEqual } from "node:crypto";
import { HttpError } from "./errors";

// Both sides are hashed first so the comparison takes the same time whatever the lengths.
function digest(value: string): Uint8Array {
  return Bun.SHA256.hash(value) as Uint8Array;
}

// Digests of configured tokens, computed once (config values only, so the map stays small;
// a presented token is hashed per request and never cached).
const configured = new Map<string, Uint8Array>();
function configuredDigest(token: string): Uint8Array {
  let d = configured.get(token);
  if (!d) {
    if (configured.size > 1000) configured.clear();
    configured.set(token, (d = digest(token)));
  }
  return d;
}

export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** True when `presented` equals one of `accepted` (every candidate is compared, in constant time each). */
export function tokenMatches(presented: string | null | undefined, accepted: readonly string[]): boolean {
  if (!presented) return false;
  const p = digest(presented);
  let ok = false;
  for (const t of accepted) if (timingSafeEqual(p, configuredDigest(t))) ok = true;
  return ok;
}

export function bearerToken(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (!auth) return null;
  const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
  return m ? m[1]!.trim() : null;
}

/** Throws 401 unless the request carries one of the tokens (Authorization: Bearer, or one of `extraHeaders`). */
export function requireToken(headers: Headers, accepted: readonly string[], extraHeaders: string[] = []): void {
  const presented = bearerToken(headers) ?? extraHeaders.map((h) => headers.get(h)).find((v) => v) ?? null;
  if (!presented) {
    throw new HttpError(401, "unauthorized", `missing credentials: send Authorization: Bearer <token>${extraHeaders.length ? ` or ${extraHeaders.join(" / ")}` : ""}`, null, {
      "www-authenticate": "Bearer",
    });
  }
  if (!tokenMatches(presented, accepted)) {
    throw new HttpError(401, "unauthorized", "invalid token", null, { "www-authenticate": 'Bearer error="invalid_token"' });
  }
}
