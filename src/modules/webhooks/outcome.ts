import type { AttemptResult } from "./send";
import type { Target } from "./targets";

const MAX_RETRY_AFTER_MS = 86_400_000;

/** What an attempt means for its delivery: the one state machine of a delivery, as a value. */
export type Outcome =
  | { kind: "delivered" }
  | { kind: "retry"; delayMs: number; error: string; countsForBreaker: true }
  | { kind: "failed"; error: string; countsForBreaker: false }
  | { kind: "disabled"; error: string; countsForBreaker: false }
  | { kind: "dead"; error: string; countsForBreaker: true };

/**
 * 2xx → delivered. 408/429 (subscribers only), 5xx, timeouts, connection and DNS errors → retry
 * after Retry-After or the target's backoff, dead once the attempts are used up. 410 → the
 * subscriber is disabled. Refused by the SSRF guard, other 4xx → failed, no retry.
 */
export function decide(t: Target, r: AttemptResult, attempt: number, maxAttempts: number): Outcome {
  const { status } = r;
  if (r.error === null && status !== null && status >= 200 && status < 300) return { kind: "delivered" };
  const error = r.error ?? `HTTP ${status}`;
  if (status === 410 && t.disableOn410) return { kind: "disabled", error, countsForBreaker: false };
  const retryable = !r.refused && (status === null || status >= 500 || (t.retry4xx && (status === 408 || status === 429)));
  if (!retryable) return { kind: "failed", error, countsForBreaker: false };
  if (attempt >= maxAttempts) return { kind: "dead", error, countsForBreaker: true };
  const delayMs = r.retryAfterMs !== null ? Math.min(r.retryAfterMs, MAX_RETRY_AFTER_MS) : t.delayMs(attempt);
  return { kind: "retry", delayMs, error, countsForBreaker: true };
}
