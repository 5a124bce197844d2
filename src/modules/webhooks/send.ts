import { parseRetryAfter } from "../../http/retry-after";
import { guardedFetch, ResolveFailed, TargetRefused } from "./ssrf";

/** What one HTTP attempt came back with (a value: the engine decides what it means). */
export interface AttemptResult {
  status: number | null;
  /** null when the attempt got an answer and read it; otherwise what went wrong. */
  error: string | null;
  /** The SSRF guard refused the target: no retry helps. */
  refused: boolean;
  retryAfterMs: number | null;
  /** The first `capture` bytes of the body, configured secrets replaced by "[redacted]". */
  response: string | null;
  durationMs: number;
}

export interface SendOptions {
  timeoutMs: number;
  signal: AbortSignal;
  guard: { allowPrivate: boolean; allowed: string[] };
  /** Bytes of the response body to keep; never more than this is read. */
  capture: number;
  /** Values to scrub from the captured body, longest first. */
  secrets: string[];
}

/** One POST of a delivery: never throws, never reads more than `capture` bytes of the answer. */
export async function sendAttempt(url: string, headers: Record<string, string>, body: string, o: SendOptions): Promise<AttemptResult> {
  const t0 = performance.now();
  const signal = AbortSignal.any([AbortSignal.timeout(o.timeoutMs), o.signal]);
  let status: number | null = null;
  let retryAfterMs: number | null = null;
  let response: string | null = null;
  let error: string | null = null;
  let refused = false;
  try {
    // Connects to the address the guard checked; redirect: manual — following one would bypass the guard.
    const res = await guardedFetch(url, { method: "POST", headers, body, redirect: "manual", signal }, o.guard);
    status = res.status;
    retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
    // Read a secret's length past the cap, so a secret cut by the cap is still recognised.
    const extra = o.capture > 0 ? (o.secrets[0]?.length ?? 0) : 0;
    response = scrub(await readCapped(res, o.capture + extra, signal), o.secrets).slice(0, o.capture);
  } catch (err) {
    if (err instanceof TargetRefused) {
      refused = true;
      error = `refused: ${err.message}`;
    } else if (err instanceof ResolveFailed) error = err.message;
    else error = status === null ? describeFetchError(err, o.timeoutMs) : `reading the response failed: ${describeFetchError(err, o.timeoutMs)}`;
  }
  return { status, error, refused, retryAfterMs, response, durationMs: Math.round((performance.now() - t0) * 100) / 100 };
}

/**
 * Reads at most `cap` bytes of the body, then cancels the rest, whatever Content-Length says
 * (or does not say): an endless or huge answer costs `cap` bytes of memory. A body that ends
 * within the cap is read to its end, so the keep-alive connection is reused.
 */
export async function readCapped(res: Response, cap: number, signal: AbortSignal): Promise<string> {
  if (!res.body) return "";
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  // A declared length within the cap is all the client will read (the common "ok" answer): read it whole.
  const declared = res.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) <= cap) return trimPartial(await Promise.race([res.text(), aborted]));
  if (cap === 0) {
    await res.body.cancel().catch(() => {});
    return "";
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  try {
    while (have < cap) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) {
        ended = true;
        break;
      }
      const take = Math.min(value.length, cap - have);
      chunks.push(take === value.length ? value : value.subarray(0, take));
      have += take;
    }
  } finally {
    if (!ended) await reader.cancel().catch(() => {});
  }
  return trimPartial(new TextDecoder().decode(Buffer.concat(chunks)));
}

/** A multi-byte character cut by the cap decodes as U+FFFD at the end: drop it. */
function trimPartial(text: string): string {
  return text.replace(/\uFFFD+$/, "");
}

/** Replaces every configured secret in a captured body (a receiver echoing our Authorization header, say). */
export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join("[redacted]");
  return out;
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { code?: string };
  if (e?.name === "TimeoutError") return `timeout after ${timeoutMs} ms`;
  if (e?.name === "AbortError") return "aborted (ferry shutting down)";
  const code = e?.code ? `${e.code}: ` : "";
  return `connection failed: ${code}${e?.message ?? String(err)}`;
}
