import type { Backoff } from "./types";

/**
 * Delay before the next try after `attempt` failed tries (1-based). Jitter spreads retries of
 * many jobs that failed together: the delay is scaled by a random factor in [1 - jitter, 1 + jitter].
 */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  let base: number;
  if (backoff.type === "schedule") {
    const list = backoff.delaysMs;
    base = list[Math.min(attempt - 1, list.length - 1)] ?? 0;
  } else {
    base = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (attempt - 1));
  }
  const jitter = backoff.jitter ?? (backoff.type === "schedule" ? 0 : 0.2);
  if (jitter <= 0) return base;
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random())));
}
