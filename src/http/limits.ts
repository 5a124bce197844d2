import { formatPath, HttpError } from "./errors";

/** Deepest nesting of objects/arrays accepted in a JSON body (the root object is level 1). */
export const MAX_JSON_DEPTH = 128;

/** 16+ digits in a row: a cheap pre-test before the exact scan below. */
const LONG_DIGITS = /\d{16}/;
/** JSON strings and numbers, so digits inside strings are skipped. */
const TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** True when the JSON text holds an integer literal (no fraction, no exponent) beyond ±(2^53 - 1). */
function hasUnsafeIntegerLiteral(raw: string): boolean {
  if (!LONG_DIGITS.test(raw)) return false;
  for (const [t] of raw.matchAll(TOKENS)) {
    if (t.charCodeAt(0) === 34 || t.length < 16 || /[.eE]/.test(t)) continue;
    const n = BigInt(t);
    if (n > MAX_SAFE || n < -MAX_SAFE) return true;
  }
  return false;
}

class LimitExceeded {
  readonly path: Array<string | number> = [];
  constructor(readonly kind: "depth" | "integer") {}
}

function unsafeInteger(v: number): boolean {
  return (v > Number.MAX_SAFE_INTEGER || v < -Number.MAX_SAFE_INTEGER) && Number.isInteger(v);
}

/**
 * Recursion is safe here: it stops at MAX_JSON_DEPTH. The path of a problem is collected while
 * unwinding, so the common case (nothing wrong) builds no paths at all.
 */
function walk(value: object, depth: number, bigOk: () => boolean): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) visit(value[i], i, depth, bigOk);
  } else {
    for (const k in value) visit((value as Record<string, unknown>)[k], k, depth, bigOk);
  }
}

function visit(v: unknown, key: string | number, depth: number, bigOk: () => boolean): void {
  if (typeof v === "number") {
    if (unsafeInteger(v) && !bigOk()) {
      const e = new LimitExceeded("integer");
      e.path.push(key);
      throw e;
    }
  } else if (v !== null && typeof v === "object") {
    if (depth >= MAX_JSON_DEPTH) {
      const e = new LimitExceeded("depth");
      e.path.push(key);
      throw e;
    }
    try {
      walk(v, depth + 1, bigOk);
    } catch (e) {
      if (e instanceof LimitExceeded) e.path.unshift(key);
      throw e;
    }
  }
}

function shortPath(path: Array<string | number>): string {
  return path.length > 8 ? `${formatPath(path.slice(0, 6))}… (${path.length} keys deep)` : formatPath(path);
}

/** The message for a value that breaks a limit, or null. `raw` is the JSON text it was parsed from. */
export function jsonLimitProblem(value: unknown, raw: string, prefix: Array<string | number> = []): { path: string; message: string } | null {
  // An integer-valued double beyond 2^53 is fine when it was written as a float (1e300, 2.5e16):
  // only an integer literal lost digits in JSON.parse. The text is scanned once, and only then.
  let hasLong: boolean | null = null;
  const bigOk = () => !(hasLong ??= hasUnsafeIntegerLiteral(raw));
  try {
    if (typeof value === "number") {
      if (unsafeInteger(value) && !bigOk()) throw new LimitExceeded("integer");
    } else if (value !== null && typeof value === "object") walk(value, 1, bigOk);
    return null;
  } catch (e) {
    if (!(e instanceof LimitExceeded)) throw e;
    const path = shortPath([...prefix, ...e.path]) || "(body)";
    return e.kind === "depth"
      ? { path, message: `nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` }
      : { path, message: `an integer beyond ±2^53 (${Number.MAX_SAFE_INTEGER}) cannot be kept exactly; send it as a string` };
  }
}

/** Throws 422 naming the path when the parsed body is nested too deep or holds an integer beyond 2^53. */
export function checkJsonLimits(value: unknown, raw: string): void {
  const problem = jsonLimitProblem(value, raw);
  if (problem) throw new HttpError(422, "validation_failed", `invalid request body: ${problem.path}: ${problem.message}`, [problem]);
}
