import { Elysia } from "elysia";
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

/** Security scheme names in /openapi.json (defined in src/http/openapi.ts). */
export const SCHEME = {
  apiToken: "apiToken",
  moodleToken: "moodleToken",
  moodleBearer: "moodleBearer",
  jobsSignature: "jobsSignature",
} as const;

/**
 * How a route authenticates: `api` (Bearer API token), `moodle` (Moodle token as X-Moodle-Token or
 * Bearer), `api-or-moodle` (either kind of token), or `signed`: with `secret()` set, `verify`
 * checks the request's signature (it throws 401); without one the API token is required.
 */
export type AuthMode =
  | "api"
  | "moodle"
  | "api-or-moodle"
  | { signed: { secret: () => string; verify: (request: Request, body: unknown, secret: string) => void } };

interface TokenSources {
  auth: { api_tokens: string[] };
  moodle: { tokens: string[] };
}

function security(mode: AuthMode): Array<Record<string, string[]>> {
  if (mode === "api") return [{ [SCHEME.apiToken]: [] }];
  if (mode === "moodle") return [{ [SCHEME.moodleToken]: [] }, { [SCHEME.moodleBearer]: [] }];
  if (mode === "api-or-moodle") return [{ [SCHEME.apiToken]: [] }, { [SCHEME.moodleToken]: [] }, { [SCHEME.moodleBearer]: [] }];
  return [{ [SCHEME.jobsSignature]: [] }, { [SCHEME.apiToken]: [] }];
}

/** 401 unless the request carries what `mode` asks for (read from the current config on every request). */
export function authorize(mode: AuthMode, config: () => TokenSources, request: Request, body: unknown): void {
  const c = config();
  if (mode === "api") return requireToken(request.headers, c.auth.api_tokens);
  if (mode === "moodle") return requireToken(request.headers, c.moodle.tokens, ["x-moodle-token"]);
  if (mode === "api-or-moodle") return requireToken(request.headers, [...c.auth.api_tokens, ...c.moodle.tokens], ["x-moodle-token"]);
  const secret = mode.signed.secret();
  if (secret) mode.signed.verify(request, body, secret);
  else requireToken(request.headers, c.auth.api_tokens);
}

/**
 * A body that could not be read as JSON (400 malformed, 415 wrong type, 422 past the nesting or
 * integer limits), held back until the credentials were checked: an unauthenticated caller always
 * learns 401 first. 413 is not held back: reading stops at the limit either way.
 */
export class DeferredBodyError {
  constructor(readonly error: HttpError) {}
}

export function deferBodyError(err: unknown): never | DeferredBodyError {
  if (err instanceof HttpError && err.status !== 413) return new DeferredBodyError(err);
  throw err;
}

/**
 * The `auth` route option: `{ auth: "api" }` checks credentials before the schema is validated and
 * the handler runs (Elysia's transform step, right after the body is read), and documents the
 * route's security in /openapi.json.
 */
export function authMacro(config: () => TokenSources) {
  return new Elysia({ name: "ferry-auth" }).macro({
    auth: (mode: AuthMode) => ({
      transform({ request, body }: { request: Request; body: unknown }) {
        authorize(mode, config, request, body instanceof DeferredBodyError ? null : body);
        if (body instanceof DeferredBodyError) throw body.error;
      },
      detail: { security: security(mode) },
    }),
  });
}
