import type { Logger } from "pino";
import { Store } from "../store/db";
import type { Db } from "../store/sqlite";
import { SqliteDriver } from "../store/driver/sqlite";
import type { StoreDriver, TxResult } from "../store/driver/types";
import { backoffDelay } from "./backoff";
import { PermanentFailure, RetryLater, systemClock, type Backoff, type Clock, type JobRow, type NewJob } from "./types";

export interface Job<P = unknown> {
  id: number;
  kind: string;
  payload: P;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  /** True when a failure of this run will not be retried. */
  lastAttempt: boolean;
  createdAt: number;
  lastError: string | null;
}

export interface JobContext<Tx = Db> {
  /** Aborted when ferry shuts down past its deadline or the lease is lost. */
  signal: AbortSignal;
  /** Writes that must commit atomically with the job's completion (skipped if the lease was lost). */
  onComplete(write: (tx: Tx) => TxResult<void>): void;
}

export interface KindOptions<P = unknown, Tx = Db> {
  handler: (job: Job<P>, ctx: JobContext<Tx>) => unknown;
  /** Jobs of this kind running at once. */
  concurrency?: number;
  /** Default attempts per job (a job may override at enqueue). */
  maxAttempts?: number;
  backoff?: Backoff;
  leaseMs?: number;
  /** Runs in the transaction that records a failed attempt; `final` when the job goes dead. */
  onFail?: (tx: Tx, job: Job<P>, error: Error, final: boolean) => TxResult<void>;
}

interface Kind<Tx> {
  name: string;
  options: Required<Pick<KindOptions<unknown, Tx>, "concurrency" | "maxAttempts" | "backoff" | "leaseMs">> & KindOptions<unknown, Tx>;
  running: Map<number, { token: string; abort: AbortController; done: Promise<void> }>;
  claiming: boolean;
  /** A wake arrived while a claim was in flight: claim again once it returns. */
  rewake: boolean;
  /** A refill claim is already scheduled for this turn of the event loop. */
  refillQueued: boolean;
  timer: ReturnType<typeof setTimeout> | null;
  outcomes: { done: number; retry: number; dead: number; lost: number };
}

const DEFAULT_BACKOFF: Backoff = { type: "exponential", baseMs: 1000, maxMs: 3_600_000, jitter: 0.2 };
// A due job further away than this is found by the maintenance tick instead of a long timer.
const MAX_TIMER_MS = 60_000;

/**
 * The durable lease queue's workers, on either storage driver (src/store/driver). Kinds are
 * registered with a handler; `enqueue` runs inside a caller's transaction and the driver wakes
 * that kind's workers after the commit (on PostgreSQL on every node, by NOTIFY); claims,
 * completions and failures go through the driver's group commit. `Tx` is the driver's
 * transaction handle (SQLite: Db, where every transaction-scoped call is synchronous).
 */
export class Queue<Tx = Db> {
  private kinds = new Map<string, Kind<Tx>>();
  private started = false;
  private stopping = false;
  /** Claims in flight; stop() waits for them so none lands after the store closes. */
  private claims = new Set<Promise<void>>();
  readonly driver: StoreDriver<Tx>;

  constructor(
    storeOrDriver: StoreDriver<Tx> | (Tx extends Db ? Store : never),
    private options: { log: Logger; clock?: Clock; leaseMs?: number; random?: () => number },
  ) {
    this.driver = storeOrDriver instanceof Store ? (new SqliteDriver(storeOrDriver) as unknown as StoreDriver<Tx>) : (storeOrDriver as StoreDriver<Tx>);
    this.driver.onJobsAvailable((kinds) => {
      if (kinds.includes("*")) this.wakeAll();
      else for (const k of kinds) this.wake(k);
    });
  }

  get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  register<P>(kind: string, options: KindOptions<P, Tx>): void {
    if (this.kinds.has(kind)) throw new Error(`job kind ${kind} registered twice`);
    this.kinds.set(kind, {
      name: kind,
      options: {
        concurrency: 1,
        maxAttempts: 5,
        backoff: DEFAULT_BACKOFF,
        leaseMs: this.options.leaseMs ?? 30_000,
        ...(options as KindOptions<unknown, Tx>),
      },
      running: new Map(),
      claiming: false,
      rewake: false,
      refillQueued: false,
      timer: null,
      outcomes: { done: 0, retry: 0, dead: 0, lost: 0 },
    });
  }

  kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  /**
   * Inserts a job in the caller's transaction; its workers are woken once that commits.
   * Synchronous on SQLite (Tx = Db), a promise on PostgreSQL.
   */
  enqueue(tx: Tx, job: NewJob): Tx extends Db ? { id: number; created: boolean } : Promise<{ id: number; created: boolean }> {
    const kind = this.kinds.get(job.kind);
    const out = this.driver.enqueueIn(tx, [job], kind?.options.maxAttempts ?? 5, this.clock.now());
    return (out instanceof Promise ? out.then((r) => r[0]!) : out[0]!) as never;
  }

  /** Puts a dead job back in the queue (in the caller's transaction); false if it was not dead. */
  replay(tx: Tx, id: number): Tx extends Db ? boolean : Promise<boolean> {
    const kind = this.driver.replayIn(tx, id, this.clock.now());
    return (kind instanceof Promise ? kind.then((k) => k !== null) : kind !== null) as never;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    // Recovery wakes the kinds it made due; every kind is woken anyway for what is already due.
    void this.recover().catch((err) => this.options.log.error({ err }, "recovering expired leases failed"));
    for (const k of this.kinds.keys()) this.wake(k);
  }

  /** Recovers jobs whose lease expired (the driver wakes their kinds). Called at start and by the scheduler. */
  async recover(): Promise<number> {
    return (await this.driver.recoverExpired(this.clock.now())).length;
  }

  /** Wakes every kind (the scheduler's tick: retries that became due). */
  wakeAll(): void {
    for (const k of this.kinds.keys()) this.wake(k);
  }

  wake(kindName: string): void {
    const kind = this.kinds.get(kindName);
    if (!kind || !this.started || this.stopping) return;
    void this.pump(kind);
  }

  outcomes(): Record<string, Kind<Tx>["outcomes"]> {
    return Object.fromEntries([...this.kinds.values()].map((k) => [k.name, { ...k.outcomes }]));
  }

  runningCount(): number {
    let n = 0;
    for (const k of this.kinds.values()) n += k.running.size;
    return n;
  }

  private pump(kind: Kind<Tx>): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (kind.claiming) {
      kind.rewake = true;
      return Promise.resolve();
    }
    const p = this.claimAndRun(kind);
    this.claims.add(p);
    void p.finally(() => this.claims.delete(p));
    return p;
  }

  private async claimAndRun(kind: Kind<Tx>): Promise<void> {
    const free = kind.options.concurrency - kind.running.size;
    if (free <= 0) return;
    kind.claiming = true;
    kind.rewake = false;
    let rows: JobRow[] = [];
    let next: number | null = null;
    try {
      ({ jobs: rows, nextDueAt: next } = await this.driver.claim(kind.name, free, kind.options.leaseMs, this.clock.now()));
    } catch (err) {
      this.options.log.error({ err, kind: kind.name }, "claiming jobs failed");
    } finally {
      kind.claiming = false;
    }
    if (this.stopping) {
      // Claimed while shutting down: give them straight back.
      if (rows.length) await this.driver.release(rows.map((r) => ({ id: r.id, token: r.lease_token! })), this.clock.now());
      return;
    }
    for (const row of rows) this.run(kind, row);
    if (kind.rewake) return void this.pump(kind);
    if (rows.length === free) return; // saturated: a finishing job pumps again
    if (next !== null) this.armTimer(kind, next);
  }

  /**
   * A finished job frees a slot. Jobs that finish in the same turn share one claim for all the
   * freed slots instead of one small claim each.
   */
  private refill(kind: Kind<Tx>): void {
    if (kind.refillQueued) return;
    kind.refillQueued = true;
    setImmediate(() => {
      kind.refillQueued = false;
      void this.pump(kind);
    });
  }

  private armTimer(kind: Kind<Tx>, dueAt: number): void {
    const delay = Math.max(0, dueAt - this.clock.now());
    if (delay > MAX_TIMER_MS) return;
    if (kind.timer) clearTimeout(kind.timer);
    kind.timer = setTimeout(() => {
      kind.timer = null;
      void this.pump(kind);
    }, delay);
    kind.timer.unref?.();
  }

  private run(kind: Kind<Tx>, row: JobRow): void {
    const token = row.lease_token!;
    const abort = new AbortController();
    const job: Job = {
      id: row.id,
      kind: row.kind,
      payload: JSON.parse(row.payload),
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      lastAttempt: row.attempts >= row.max_attempts,
      createdAt: row.created_at,
      lastError: row.last_error,
    };
    const onCompleteWrites: Array<(tx: Tx) => TxResult<void>> = [];
    const heartbeat = setInterval(() => {
      void this.driver
        .heartbeat([{ id: row.id, token }], kind.options.leaseMs, this.clock.now())
        .then(([held]) => {
          if (!held) abort.abort(new Error("lease lost"));
        })
        .catch(() => {});
    }, Math.max(50, Math.floor(kind.options.leaseMs / 3)));
    heartbeat.unref?.();

    const done = (async () => {
      try {
        const result = await kind.options.handler(job, { signal: abort.signal, onComplete: (w) => onCompleteWrites.push(w) });
        clearInterval(heartbeat);
        const writes = onCompleteWrites.length ? (tx: Tx) => runAll(tx, onCompleteWrites) : null;
        const held = await this.driver.completeWith({ id: row.id, token, result }, this.clock.now(), writes);
        if (held) kind.outcomes.done++;
        else this.lostLease(kind, row);
      } catch (raw) {
        clearInterval(heartbeat);
        const error = raw instanceof Error ? raw : new Error(String(raw));
        await this.recordFailure(kind, job, token, error);
      }
    })()
      .catch((err) => this.options.log.error({ err, kind: kind.name, job: row.id }, "recording a job outcome failed"))
      .finally(() => {
        kind.running.delete(row.id);
        if (!this.stopping) this.refill(kind);
      });
    kind.running.set(row.id, { token, abort, done });
  }

  private async recordFailure(kind: Kind<Tx>, job: Job, token: string, error: Error): Promise<void> {
    const now = this.clock.now();
    let retryAt: number | null = null;
    if (!(error instanceof PermanentFailure) && job.attempt < job.maxAttempts) {
      const delay = error instanceof RetryLater ? error.delayMs : backoffDelay(kind.options.backoff, job.attempt, this.options.random);
      retryAt = now + delay;
    }
    const final = retryAt === null;
    const onFail = kind.options.onFail;
    const held = await this.driver.failWith({ id: job.id, token, error: error.message, retryAt }, now, onFail ? (tx) => onFail(tx, job, error, final) : null);
    if (!held) return this.lostLease(kind, { id: job.id } as JobRow);
    if (final) kind.outcomes.dead++;
    else kind.outcomes.retry++;
    this.options.log[final ? "warn" : "info"](
      { kind: kind.name, job: job.id, attempt: job.attempt, retryAt, error: error.message },
      final ? "job failed for good (dead)" : "job failed, will retry",
    );
    if (retryAt !== null) this.armTimer(kind, retryAt);
  }

  private lostLease(kind: Kind<Tx>, row: Pick<JobRow, "id">): void {
    kind.outcomes.lost++;
    this.options.log.warn({ kind: kind.name, job: row.id }, "job lease was lost before its outcome was recorded");
  }

  /** Stops claiming, waits for running jobs up to the deadline, then releases the rest. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    for (const k of this.kinds.values()) if (k.timer) clearTimeout(k.timer);
    await Promise.allSettled([...this.claims]);
    const running = [...this.kinds.values()].flatMap((k) => [...k.running.entries()].map(([id, r]) => ({ id, ...r })));
    if (running.length) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled(running.map((r) => r.done)),
        new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
      const left = [...this.kinds.values()].flatMap((k) => [...k.running.entries()].map(([id, r]) => ({ id, ...r })));
      if (left.length) {
        await this.driver.release(left.map((r) => ({ id: r.id, token: r.token })), this.clock.now());
        for (const r of left) r.abort.abort(new Error("shutting down"));
        this.options.log.warn({ released: left.length }, "released jobs still running at the shutdown deadline");
      }
    }
    this.started = false;
  }
}

/** The onComplete writes in order; on PostgreSQL each may be async, on SQLite all are synchronous. */
function runAll<Tx>(tx: Tx, writes: Array<(tx: Tx) => TxResult<void>>): TxResult<void> {
  let chain: Promise<void> | null = null;
  for (const w of writes) {
    if (chain) chain = chain.then(() => w(tx));
    else {
      const r = w(tx);
      if (r instanceof Promise) chain = r;
    }
  }
  return chain ?? undefined;
}
