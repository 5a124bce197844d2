// The jobs API's units of work, one interface the service calls and one implementation per
// database: SQLite here (the statements of sql.ts inside store.write, synchronous), PostgreSQL
// in storage-pg.ts. Chosen once, in the module, by ctx.storage.kind.
import type { PublishInput } from "../../events/bus";
import type { TxResult } from "../../store/driver/types";
import type { Store } from "../../store/db";
import type { Db } from "../../store/sqlite";
import type { Queue } from "../../queue";
import type { ApiJobRow } from "./sql";
import * as sql from "./sql";
import type { JobWebhooks } from "./webhooks";
import type { EventBus } from "../../events/bus";

export const JOB_KIND = "api.job";

export interface ItemOutcome {
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface NewApiJob {
  id: string;
  type: string;
  items: unknown[];
  webhookUrl: string | null;
  options: string | null;
}

/** How a job ends, decided by the service from the job and its final counts. */
export interface JobEnding {
  status: ApiJobRow["status"];
  /** The completion webhook to send (null: none). */
  webhook: { url: string; eventName: string; body: string } | null;
  event: PublishInput;
}

export type ResultRow = { idx: number; status: string; result: string | null; error: string | null };

export interface JobsStorage {
  /** The job a signed request made since `since` (unix ms), if it was seen. */
  requestJob(key: string, since: number): TxResult<string | null>;
  getJob(id: string): TxResult<ApiJobRow | undefined>;
  results(id: string, offset: number, limit: number): TxResult<ResultRow[]>;
  pendingItems(id: string, limit: number): TxResult<Array<{ idx: number; item: string }>>;
  /**
   * Stores the job, its items and its queue job in one write. With `signed`, the request is
   * recorded too, unless the same one was seen within the window: then nothing is written and the
   * first request's job id is returned.
   */
  create(job: NewApiJob, signed: { key: string; windowMs: number } | null): Promise<string | null>;
  markRunning(id: string): Promise<void>;
  /** Records a chunk's outcomes; `replays` (webhooks.replay items) run in the same write, so a retried chunk never replays twice. */
  finishItems(id: string, batch: Array<{ idx: number; item: string }>, outcomes: ItemOutcome[] | "replay"): Promise<void>;
  /** Finishes the job once (its completion webhook and event in the same write). */
  finish(id: string, end: (job: ApiJobRow, counts: { completed: number; failed: number }, now: number) => JobEnding): Promise<void>;
}

export function replayOutcome(r: { ok: boolean; message?: string }): ItemOutcome {
  return r.ok ? { ok: true, result: { replayed: true } } : { ok: false, error: r.message };
}

/** The SQLite implementation (the statements and transactions the jobs API always had). */
export class SqliteJobsStorage implements JobsStorage {
  constructor(
    private store: Store,
    private queue: Queue<Db>,
    private bus: EventBus,
    private engine: JobWebhooks | null,
    private now: () => number,
  ) {}

  requestJob(key: string, since: number) {
    return sql.requestJob(this.store.db, key, since);
  }

  getJob(id: string) {
    return sql.getJob(this.store.db, id);
  }

  results(id: string, offset: number, limit: number) {
    return sql.results(this.store.db, id, offset, limit);
  }

  pendingItems(id: string, limit: number) {
    return sql.pendingItems(this.store.db, id, limit);
  }

  create(job: NewApiJob, signed: { key: string; windowMs: number } | null) {
    return this.store.write((db) => {
      const now = this.now();
      if (signed) {
        // Checked again inside the write: of two identical requests in one batch, only the first makes a job.
        const first = sql.requestJob(db, signed.key, now - signed.windowMs);
        if (first) return first;
        sql.saveRequest(db, signed.key, job.id, now, now - signed.windowMs);
      }
      sql.insertJob(db, { id: job.id, type: job.type, total: job.items.length, webhookUrl: job.webhookUrl, options: job.options, now });
      job.items.forEach((it, i) => sql.insertItem(db, job.id, i, JSON.stringify(it)));
      this.queue.enqueue(db, { kind: JOB_KIND, payload: { id: job.id }, dedupeKey: `api.job:${job.id}` });
      return null;
    });
  }

  markRunning(id: string) {
    return this.store.write((db) => sql.markRunning(db, id, this.now()));
  }

  finishItems(id: string, batch: Array<{ idx: number; item: string }>, outcomes: ItemOutcome[] | "replay") {
    return this.store.write((db) => {
      const now = this.now();
      batch.forEach((b, i) => {
        const o = outcomes === "replay" ? this.replayItem(db, JSON.parse(b.item)) : outcomes[i]!;
        sql.finishItem(db, id, b.idx, o.ok, o.result, o.error ?? null, now);
      });
      const c = sql.countItems(db, id);
      sql.updateCounts(db, id, c.completed, c.failed);
    });
  }

  private replayItem(db: Db, item: unknown): ItemOutcome {
    if (!this.engine) return { ok: false, error: "webhooks are not available" };
    return replayOutcome(this.engine.replay(db, String(item)));
  }

  finish(id: string, end: (job: ApiJobRow, counts: { completed: number; failed: number }, now: number) => JobEnding) {
    return this.store.write((db) => {
      const j = sql.getJob(db, id)!;
      if (j.finished_at !== null) return;
      const c = sql.countItems(db, id);
      const now = this.now();
      const e = end(j, c, now);
      const deliveryId = e.webhook && this.engine ? this.engine.createJobWebhook(db, e.webhook.url, e.webhook.eventName, e.webhook.body) : null;
      sql.finishJob(db, id, e.status, c.completed, c.failed, deliveryId, now);
      this.bus.publish(db, e.event);
    });
  }
}
