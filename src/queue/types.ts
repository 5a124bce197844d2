export type JobStatus = "queued" | "running" | "retry" | "done" | "dead";

export interface JobRow {
  id: number;
  kind: string;
  payload: string;
  status: JobStatus;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_until: number | null;
  lease_token: string | null;
  last_error: string | null;
  dedupe_key: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface NewJob {
  kind: string;
  payload: unknown;
  /** When the job may first run (unix ms); default now. */
  runAt?: number;
  /** Overrides the kind's max attempts. */
  maxAttempts?: number;
  /** A second enqueue with the same key returns the first job's id and adds nothing. */
  dedupeKey?: string;
}

export type Backoff =
  | { type: "exponential"; baseMs: number; maxMs: number; jitter?: number }
  | { type: "schedule"; delaysMs: number[]; jitter?: number };

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Thrown by a handler: retry after exactly this delay (e.g. a Retry-After header), still counting the attempt. */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** Thrown by a handler: no retry will help; the job goes to dead at once (kept, replayable). */
export class PermanentFailure extends Error {}
