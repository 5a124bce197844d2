import type { Outcome } from "./outcome";
import { TokenBucket } from "./rate-limit";
import type { ClaimedRow } from "./sql";
import type { Target } from "./targets";

/** Per-target runtime state: circuit breaker, last outcomes, attempt counters (memory, rebuilt at start). */
export interface TargetState {
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
  openUntil: number;
  probing: boolean;
  attempts: Record<string, number>;
}

/** One lane per target: what isolates targets from each other (concurrency cap, breaker, rate limit). */
export interface Lane {
  id: string;
  /** null: the subscriber is no longer configured (its open deliveries are failed when claimed). */
  target: Target | null;
  st: TargetState;
  inFlight: number;
  /** The table may have due deliveries of this target that nobody leased yet. */
  sqlDue: boolean;
  /** Fresh deliveries leased to this process at insert, waiting in memory for a slot (committed ones only). */
  handoff: ClaimedRow[];
  /** Body size held by `handoff` (UTF-16 length, roughly bytes). */
  handoffBytes: number;
  /** Inserted leased in group commits that have not settled yet (a soft count). */
  reserved: number;
  bucket: TokenBucket | null;
  timer: ReturnType<typeof setTimeout> | null;
  timerAt: number;
}

export function newLane(id: string, target: Target | null, now: number): Lane {
  const lane: Lane = {
    id,
    target,
    st: { consecutiveFailures: 0, lastSuccessAt: null, lastFailureAt: null, lastError: null, openUntil: 0, probing: false, attempts: {} },
    inFlight: 0,
    sqlDue: true,
    handoff: [],
    handoffBytes: 0,
    reserved: 0,
    bucket: null,
    timer: null,
    timerAt: 0,
  };
  setTarget(lane, target, now);
  return lane;
}

/** A reload's new target: the rate limit follows its max_rate (a changed rate starts a fresh bucket). */
export function setTarget(lane: Lane, target: Target | null, now: number): void {
  lane.target = target;
  const rate = target?.maxRate ?? 0;
  if (rate === 0) lane.bucket = null;
  else if (lane.bucket?.rate !== rate) lane.bucket = new TokenBucket(rate, now);
}

/**
 * How many deliveries a lane may start now: free slots under its cap, one probe while its circuit
 * is half-open, none while open, at most the tokens in its bucket. `waitUntil` says when to look again.
 */
export function allowance(lane: Lane, now: number): { free: number; waitUntil?: number } {
  let free = (lane.target?.concurrency ?? 16) - lane.inFlight;
  if (free <= 0) return { free: 0 }; // a finishing attempt pumps again
  const st = lane.st;
  if (st.openUntil > 0) {
    if (now < st.openUntil) return { free: 0, waitUntil: st.openUntil };
    if (st.probing) return { free: 0 }; // the half-open probe's outcome decides
    free = 1;
  }
  if (lane.bucket) {
    const tokens = lane.bucket.available(now);
    if (tokens < 1) {
      lane.bucket.waits++;
      return { free: 0, waitUntil: lane.bucket.nextTokenAt(now) };
    }
    free = Math.min(free, tokens);
  }
  return { free };
}

/** An attempt's effect on its target's state; true when this failure opened (or re-opened) the circuit. */
export function noteOutcome(st: TargetState, target: Target, outcome: Outcome, breaker: { failure_threshold: number; cooldown: number }, now: number): boolean {
  if (outcome.kind === "delivered") {
    st.consecutiveFailures = 0;
    st.lastSuccessAt = now;
    st.openUntil = 0;
    st.attempts.delivered = (st.attempts.delivered ?? 0) + 1;
    return false;
  }
  // Only failures that say "the endpoint is not working" count towards the circuit breaker.
  if (outcome.countsForBreaker) st.consecutiveFailures++;
  st.lastFailureAt = now;
  st.lastError = outcome.error;
  st.attempts.failed = (st.attempts.failed ?? 0) + 1;
  const tripped = target.breaker && outcome.countsForBreaker && st.consecutiveFailures >= breaker.failure_threshold;
  if (tripped) st.openUntil = now + breaker.cooldown;
  return tripped;
}
