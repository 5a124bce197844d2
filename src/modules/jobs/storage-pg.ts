// The jobs API's units of work on PostgreSQL (see storage.ts): reads on the pool, writes in the
// driver's group commit. Writes in one batch share a transaction and may be re-run after a
// sibling failed, so they keep every JS side effect out (after-commit work goes through `w`).
import type { EventBus } from "../../events/bus";
import type { Queue } from "../../queue";
import type { PostgresDriver } from "../../store/driver/postgres";
import type { PgExec, PgTx } from "../../store/postgres/client";
import type { PgWriteContext } from "../../store/postgres/group-commit";
import type { ApiJobRow } from "./sql";
import { JOB_KIND, replayOutcome, type ItemOutcome, type JobEnding, type JobsStorage, type NewApiJob } from "./storage";
import type { JobWebhooks } from "./webhooks";

const NO_PG_WEBHOOKS = "webhooks are not available on PostgreSQL in this ferry (the delivery engine has no PostgreSQL implementation)";

async function getJob(sql: PgExec, id: string, lock = false): Promise<ApiJobRow | undefined> {
  const [row] = await sql<ApiJobRow[]>`SELECT * FROM api_jobs WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`;
  return row ? { ...row } : undefined;
}

async function countItems(tx: PgExec, id: string): Promise<{ completed: number; failed: number }> {
  const [c] = await tx<{ completed: number; failed: number }[]>`SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
      count(*) FILTER (WHERE status = 'failed')::int AS failed FROM api_job_items WHERE job_id = ${id}`;
  return { completed: c!.completed, failed: c!.failed };
}

export class PgJobsStorage implements JobsStorage {
  constructor(
    private driver: PostgresDriver,
    private queue: Queue<PgTx>,
    private bus: EventBus,
    private engine: JobWebhooks | null,
    private now: () => number,
  ) {}

  async requestJob(key: string, since: number): Promise<string | null> {
    const [r] = await this.driver.sql<{ job_id: string }[]>`SELECT job_id FROM api_job_requests WHERE key = ${key} AND at >= ${since}`;
    return r?.job_id ?? null;
  }

  getJob(id: string) {
    return getJob(this.driver.sql, id);
  }

  async results(id: string, offset: number, limit: number) {
    const rows = await this.driver.sql<{ idx: number; status: string; result: string | null; error: string | null }[]>`SELECT idx, status, result, error
      FROM api_job_items WHERE job_id = ${id} ORDER BY idx LIMIT ${limit} OFFSET ${offset}`;
    return rows.map((r) => ({ ...r }));
  }

  async pendingItems(id: string, limit: number) {
    const rows = await this.driver.sql<{ idx: number; item: string }[]>`SELECT idx, item FROM api_job_items WHERE job_id = ${id} AND status = 'pending' ORDER BY idx LIMIT ${limit}`;
    return rows.map((r) => ({ idx: r.idx, item: r.item }));
  }

  create(job: NewApiJob, signed: { key: string; windowMs: number } | null): Promise<string | null> {
    return this.driver.write(async (tx) => {
      const now = this.now();
      if (signed) {
        const since = now - signed.windowMs;
        // One statement claims the key (new, or its earlier use expired): of two identical requests
        // in one batch or on two nodes, the first claims it and the other finds its job.
        const [mine] = await tx`INSERT INTO api_job_requests (key, job_id, at) VALUES (${signed.key}, ${job.id}, ${now})
          ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, at = excluded.at WHERE api_job_requests.at < ${since} RETURNING job_id`;
        if (!mine) {
          const [first] = await tx<{ job_id: string }[]>`SELECT job_id FROM api_job_requests WHERE key = ${signed.key}`;
          return first!.job_id;
        }
        // Forget requests older than the window, a few at a time, never waiting for another node's.
        await tx`DELETE FROM api_job_requests WHERE key IN (SELECT key FROM api_job_requests WHERE at < ${since} LIMIT 100 FOR UPDATE SKIP LOCKED)`;
      }
      await tx`INSERT INTO api_jobs (id, type, status, total_lots, webhook_url, options, created_at)
        VALUES (${job.id}, ${job.type}, 'queued', ${job.items.length}, ${job.webhookUrl}, ${job.options}, ${now})`;
      // unnest: one statement and two parameters whatever the number of items.
      await tx`INSERT INTO api_job_items (job_id, idx, item)
        SELECT ${job.id}, i - 1, it FROM unnest(${tx.array(job.items.map((it) => JSON.stringify(it)), 25)}::text[]) WITH ORDINALITY AS u(it, i)`;
      await this.queue.enqueue(tx, { kind: JOB_KIND, payload: { id: job.id }, dedupeKey: `api.job:${job.id}` });
      return null;
    });
  }

  async markRunning(id: string): Promise<void> {
    await this.driver.write((tx) => tx`UPDATE api_jobs SET status = 'running', started_at = coalesce(started_at, ${this.now()}) WHERE id = ${id} AND status = 'queued'`);
  }

  async finishItems(id: string, batch: Array<{ idx: number; item: string }>, outcomes: ItemOutcome[] | "replay"): Promise<void> {
    await this.driver.write(async (tx, w) => {
      const now = this.now();
      const done: ItemOutcome[] = [];
      if (outcomes === "replay") for (const b of batch) done.push(await this.replayItem(tx, w, JSON.parse(b.item)));
      else done.push(...outcomes);
      await tx`UPDATE api_job_items i SET status = u.status, result = u.result, error = u.error, finished_at = ${now}
        FROM unnest(${tx.array(batch.map((b) => b.idx), 23)}::int[], ${tx.array(done.map((o) => (o.ok ? "completed" : "failed")), 25)}::text[],
                    ${tx.array(done.map((o) => (o.result === undefined ? null : JSON.stringify(o.result))) as string[], 25)}::text[],
                    ${tx.array(done.map((o) => o.error ?? null) as string[], 25)}::text[]) AS u(idx, status, result, error)
        WHERE i.job_id = ${id} AND i.idx = u.idx AND i.status = 'pending'`;
      const c = await countItems(tx, id);
      await tx`UPDATE api_jobs SET completed_lots = ${c.completed}, failed_lots = ${c.failed} WHERE id = ${id}`;
    });
  }

  private async replayItem(tx: PgTx, w: PgWriteContext, item: unknown): Promise<ItemOutcome> {
    if (!this.engine) return { ok: false, error: "webhooks are not available" };
    if (!this.engine.replayPg) return { ok: false, error: NO_PG_WEBHOOKS };
    return replayOutcome(await this.engine.replayPg(tx, w, String(item)));
  }

  async finish(id: string, end: (job: ApiJobRow, counts: { completed: number; failed: number }, now: number) => JobEnding): Promise<void> {
    await this.driver.write(async (tx, w) => {
      // FOR UPDATE: a job finished by two workers at once (a lease lost mid-run) ends once.
      const j = (await getJob(tx, id, true))!;
      if (j.finished_at !== null) return;
      const c = await countItems(tx, id);
      const now = this.now();
      const e = end(j, c, now);
      const deliveryId = e.webhook && this.engine?.createJobWebhookPg ? await this.engine.createJobWebhookPg(tx, w, e.webhook.url, e.webhook.eventName, e.webhook.body) : null;
      await tx`UPDATE api_jobs SET status = ${e.status}, completed_lots = ${c.completed}, failed_lots = ${c.failed}, delivery_id = ${deliveryId}, finished_at = ${now} WHERE id = ${id}`;
      await this.bus.publishPg(tx, w, e.event);
    });
  }
}
