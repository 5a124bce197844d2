import { storageFailure } from "../errors";
import type { PgSql, PgTx } from "./client";
import { pgFailure } from "./errors";

/** What a write may do besides its queries: wake workers on every node, act after the commit. */
export interface PgWriteContext {
  /** Kinds that got runnable jobs: one NOTIFY for the whole batch, sent in its transaction. */
  notify(kind: string): void;
  /** Runs once the write is committed; dropped if it rolls back. */
  afterCommit(callback: () => void): void;
}

export type PgWrite<T> = (tx: PgTx, w: PgWriteContext) => Promise<T>;

// in_failed_sql_transaction: a statement sent after another one in the same transaction failed.
const ABORTED = "25P02";

interface Pending {
  fn: PgWrite<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Ctx extends PgWriteContext {
  kinds: Set<string>;
  callbacks: Array<() => void>;
}

function context(): Ctx {
  const kinds = new Set<string>();
  const callbacks: Array<() => void> = [];
  return { kinds, callbacks, notify: (k) => void kinds.add(k), afterCommit: (cb) => void callbacks.push(cb) };
}

/**
 * The PostgreSQL group commit: every write queued in one event-loop turn runs in one
 * transaction, its queries pipelined on one connection (all writes start at once; porsager
 * sends without waiting for each answer), committed with synchronous_commit on, and each
 * promise settles only after COMMIT returned — so a route answers 2xx only for durable data.
 * Up to `maxInFlight` batches commit at once on the pool; writes arriving meanwhile form the
 * next, larger batch. A failing write makes its batch roll back; the rest of the batch is then
 * committed again without it, so only the failing write is rejected (writes must therefore keep
 * JS side effects in afterCommit).
 */
export class PgGroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private batches = new Set<Promise<void>>();
  /** Kinds named through notifyIn() per batch transaction (for writes that only hold the tx). */
  private txKinds = new WeakMap<PgTx, Set<string>>();
  commits = 0;
  lastCommitAt = 0;
  lastCommitError: { at: number; message: string } | null = null;

  constructor(
    private sql: PgSql,
    private options: {
      maxInFlight: number;
      /** Sends the batch's one NOTIFY, inside its transaction. */
      onNotify: (tx: PgTx, kinds: string[]) => Promise<unknown>;
      /** After the commit, once per batch, with the kinds its writes named (this node's own wake). */
      onCommitted: (kinds: string[]) => void;
    },
  ) {}

  /**
   * notify() for code that holds only the transaction (a job enqueued inside a feature's write).
   * False when `tx` is not one of this group commit's (the caller must notify itself).
   */
  notifyIn(tx: PgTx, kind: string): boolean {
    const set = this.txKinds.get(tx);
    if (!set) return false;
    set.add(kind);
    return true;
  }

  write<T>(fn: PgWrite<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn: fn as PgWrite<unknown>, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight++;
    const p = this.run(batch).finally(() => {
      this.inFlight--;
      this.batches.delete(p);
      if (this.pending.length) this.schedule();
    });
    this.batches.add(p);
  }

  private async run(batch: Pending[]): Promise<void> {
    const ctxs = batch.map(context);
    let settled: PromiseSettledResult<unknown>[] | null = null;
    let values: unknown[];
    let kinds = new Set<string>();
    try {
      values = await this.sql.begin(async (tx) => {
        const byTx = new Set<string>();
        this.txKinds.set(tx, byTx);
        settled = await Promise.allSettled(batch.map((w, i) => w.fn(tx, ctxs[i]!)));
        const failed = settled.find((s) => s.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
        kinds = new Set([...byTx, ...ctxs.flatMap((c) => [...c.kinds])]);
        if (kinds.size) await this.options.onNotify(tx, [...kinds]);
        return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
      });
    } catch (error) {
      // Retry only when a write failed (the transaction was certainly rolled back). A failed
      // COMMIT or a lost connection may have committed: retrying could apply a write twice.
      const outcome = settled as PromiseSettledResult<unknown>[] | null;
      if (batch.length > 1 && outcome?.some((s) => s.status === "rejected")) return this.isolate(batch, outcome);
      this.lastCommitError = { at: Date.now(), message: (error as Error).message };
      const reported = pgFailure(error) ?? storageFailure(error) ?? error;
      for (const w of batch) w.reject(reported);
      return;
    }
    this.commits++;
    this.lastCommitAt = Date.now();
    this.lastCommitError = null;
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(values[i]);
    for (const c of ctxs) for (const cb of c.callbacks) cb();
    if (kinds.size) this.options.onCommitted([...kinds]);
  }

  /**
   * After a rolled-back batch: the writes that only failed because the transaction was already
   * aborted (25P02) commit again together; each write that failed on its own runs alone, so
   * only it is rejected.
   */
  private async isolate(batch: Pending[], outcome: PromiseSettledResult<unknown>[]): Promise<void> {
    const innocent: Pending[] = [];
    const suspects: Pending[] = [];
    outcome.forEach((s, i) => (s.status === "rejected" && (s.reason as { code?: string })?.code !== ABORTED ? suspects : innocent).push(batch[i]!));
    if (!suspects.length || !innocent.length) {
      await Promise.all(batch.map((w) => this.run([w])));
      return;
    }
    await Promise.all([this.run(innocent), ...suspects.map((w) => this.run([w]))]);
  }

  /** Resolves once every write queued so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.pending.length || this.batches.size) {
      this.flush();
      await Promise.allSettled([...this.batches]);
      if (this.pending.length && this.inFlight >= this.options.maxInFlight) await new Promise((r) => setTimeout(r, 1));
    }
  }
}
