import type { AppContext } from "../../context";
import { HttpError, validate, zodProblems } from "../../http/errors";
import type { Job, JobContext } from "../../queue";
import { JOB_TYPES, rebuildItem, replayItem, type CreateJobBody, type JobType } from "./model";
import type { SignedRequest } from "./signatures";
import type { ApiJobRow } from "./sql";
import type { ItemOutcome, JobEnding, JobsStorage } from "./storage";
import { checkTarget, hostAllowed, TargetRefused } from "../webhooks/ssrf";
import { iso } from "../../http/iso";

export { JOB_KIND } from "./storage";
const CHUNK = 100;

function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** The jobs API: accepts batch work, runs it on the durable queue, reports status/results, sends the completion webhook. */
export class JobsService {
  /** `storage`: the jobs API's units of work on the database this process runs on (storage.ts, storage-pg.ts). */
  constructor(
    private ctx: AppContext,
    private storage: JobsStorage,
  ) {}

  /** Why a webhook_url is not honoured, or null when it is: a legacy signature does not cover it, so only allowed hosts. */
  private webhookRefusal(url: string, signed: SignedRequest | null): string | null {
    if (signed?.scheme !== "legacy") return null;
    const allowed = this.ctx.config().jobs.allowed_webhook_hosts;
    if (hostAllowed(new URL(url), allowed)) return null;
    return `webhook_url dropped: the body signature covers only the items, and host ${new URL(url).host} is not in jobs.allowed_webhook_hosts (sign the whole body with X-Signature to use any public webhook_url)`;
  }

  /** 422 for a webhook_url the SSRF guard refuses now (it is checked again at delivery; a name that does not resolve yet is left to that). */
  private async checkWebhookTarget(url: string): Promise<void> {
    const cfg = this.ctx.config();
    try {
      await checkTarget(url, { allowPrivate: cfg.webhooks.allow_private_targets, allowed: cfg.jobs.allowed_targets });
    } catch (err) {
      if (!(err instanceof TargetRefused)) return;
      throw new HttpError(422, "validation_failed", `invalid webhook_url: ${err.message}; ferry calls only public addresses (an operator can allow one with jobs.allowed_targets)`, [
        { path: "webhook_url", message: err.message },
      ]);
    }
  }

  async create(body: CreateJobBody, origin: string, signed: SignedRequest | null = null) {
    const cfg = this.ctx.config().jobs;
    const since = () => this.ctx.clock.now() - cfg.replay_window;
    if (signed) {
      const prior = await this.storage.requestJob(signed.replayKey, since());
      if (prior) return this.duplicate(prior, origin);
    }
    if (!(JOB_TYPES as readonly string[]).includes(body.type)) {
      throw new HttpError(422, "unknown_job_type", `unknown job type ${body.type}; known types: ${JOB_TYPES.join(", ")}`, { known_types: JOB_TYPES });
    }
    const type = body.type as JobType;
    const items = (body.items ?? body.lots)!;
    if (type === "moodle.import" && !this.ctx.capabilities.moodleIngest) {
      throw new HttpError(422, "unavailable", "the Moodle pipeline is not available in this ferry, so moodle.import jobs cannot run");
    }
    if (type === "recommendations.rebuild") {
      if (!this.ctx.capabilities.recommendationsRebuild) throw new HttpError(422, "unavailable", "the recommender is not available in this ferry, so recommendations.rebuild jobs cannot run");
      items.forEach((it, i) => validate(rebuildItem, it, `items[${i}]`));
    }
    if (type === "webhooks.replay") {
      items.forEach((it, i) => {
        const r = replayItem.safeParse(it);
        if (!r.success) throw new HttpError(422, "validation_failed", `invalid items[${i}]: expected a delivery id string`, zodProblems(r.error, `items[${i}]`));
      });
    }
    const dropped = body.webhook_url ? this.webhookRefusal(body.webhook_url, signed) : null;
    const webhookUrl = dropped ? null : (body.webhook_url ?? null);
    if (webhookUrl) await this.checkWebhookTarget(webhookUrl);
    const id = `job_${Bun.randomUUIDv7()}`;
    const prior = await this.storage.create(
      { id, type, items, webhookUrl, options: body.options ? JSON.stringify(body.options) : null },
      signed ? { key: signed.replayKey, windowMs: cfg.replay_window } : null,
    );
    if (prior) return this.duplicate(prior, origin);
    return {
      job_id: id,
      status: "queued" as const,
      total_lots: items.length,
      status_url: `${origin}/api/v1/jobs/${id}/status`,
      results_url: `${origin}/api/v1/jobs/${id}/results`,
      ...(dropped ? { webhook: { status: "dropped" as const, reason: dropped } } : {}),
    };
  }

  /** The answer to a repeated signed request: the job the first one made, as it is now. */
  private async duplicate(id: string, origin: string) {
    const j = (await this.storage.getJob(id))!;
    return {
      job_id: id,
      status: j.status,
      total_lots: j.total_lots,
      status_url: `${origin}/api/v1/jobs/${id}/status`,
      results_url: `${origin}/api/v1/jobs/${id}/results`,
      duplicate: true as const,
    };
  }

  async status(id: string) {
    const j = await this.storage.getJob(id);
    if (!j) throw new HttpError(404, "not_found", `no job ${id}`);
    return {
      job_id: j.id,
      type: j.type,
      status: j.status,
      total_lots: j.total_lots,
      completed_lots: j.completed_lots,
      failed_lots: j.failed_lots,
      created_at: iso(j.created_at),
      started_at: iso(j.started_at),
      finished_at: iso(j.finished_at),
      ...(j.delivery_id ? { webhook_delivery_id: j.delivery_id } : {}),
    };
  }

  async results(id: string, offset: number, limit: number) {
    const j = await this.storage.getJob(id);
    if (!j) throw new HttpError(404, "not_found", `no job ${id}`);
    const rows = await this.storage.results(id, offset, limit);
    return {
      job_id: id,
      status: j.status,
      total: j.total_lots,
      offset,
      limit,
      next_offset: offset + rows.length < j.total_lots ? offset + rows.length : null,
      results: rows.map((r) => ({ index: r.idx, status: r.status, result: r.result === null ? null : JSON.parse(r.result), error: r.error })),
    };
  }

  /** The queue handler: processes pending items in chunks (a restart resumes where it stopped), then finishes the job. */
  async run(job: Job<{ id: string }>, jctx: Pick<JobContext, "signal">): Promise<void> {
    const id = job.payload.id;
    const j = await this.storage.getJob(id);
    if (!j || j.finished_at !== null) return;
    await this.storage.markRunning(id);
    for (;;) {
      if (jctx.signal.aborted) throw new Error("job interrupted");
      const batch = await this.storage.pendingItems(id, CHUNK);
      if (batch.length === 0) break;
      // A replay and the record that it was done commit together, so a retried chunk never replays twice.
      const outcomes = j.type === "webhooks.replay" ? "replay" : await this.process(j.type as JobType, batch.map((b) => JSON.parse(b.item)));
      await this.storage.finishItems(id, batch, outcomes);
    }
    await this.storage.finish(id, (row, c, now) => this.ending(row, c, now));
  }

  /** The final status, the completion webhook (exactly the batch service's body) and the job event. */
  private ending(j: ApiJobRow, c: { completed: number; failed: number }, now: number): JobEnding {
    const status = c.failed === 0 ? "completed" : c.completed === 0 ? "failed" : "partially_completed";
    const eventName = status === "failed" ? "job.failed" : "job.completed";
    const body = j.webhook_url
      ? JSON.stringify({
          job_id: j.id,
          status,
          timestamp: new Date(now).toISOString(),
          total_lots: j.total_lots,
          completed_lots: c.completed,
          failed_lots: c.failed,
          webhook_url: j.webhook_url,
          results_available: c.completed + c.failed > 0,
        })
      : null;
    return {
      status,
      // Signed with jobs.secret by the delivery engine.
      webhook: j.webhook_url && body ? { url: j.webhook_url, eventName, body } : null,
      event: { name: eventName, data: { job_id: j.id, type: j.type, status, total_lots: j.total_lots, completed_lots: c.completed, failed_lots: c.failed } },
    };
  }

  private async process(type: JobType, items: unknown[]): Promise<ItemOutcome[]> {
    switch (type) {
      case "moodle.import":
        return this.moodleImport(items);
      case "recommendations.rebuild":
        return this.each(items, async (it) => {
          const fn = this.ctx.capabilities.recommendationsRebuild;
          if (!fn) throw new Error("the recommender is not available in this ferry");
          return fn(rebuildItem.parse(it));
        });
      case "webhooks.replay":
        throw new Error("webhooks.replay items run inside the chunk's write (JobsStorage.finishItems)");
    }
  }

  private async each(items: unknown[], fn: (item: unknown) => Promise<unknown>): Promise<ItemOutcome[]> {
    const out: ItemOutcome[] = [];
    for (const it of items) {
      try {
        out.push({ ok: true, result: await fn(it) });
      } catch (err) {
        out.push({ ok: false, error: errorText(err) });
      }
    }
    return out;
  }

  /** A chunk goes through the live pipeline at once; if it is refused, each row is tried alone to find the bad ones. */
  private async moodleImport(items: unknown[]): Promise<ItemOutcome[]> {
    const ingest = this.ctx.capabilities.moodleIngest;
    if (!ingest) return items.map(() => ({ ok: false, error: "the Moodle pipeline is not available in this ferry" }));
    try {
      const r = await ingest(items);
      if (items.length === 1) return [{ ok: true, result: r }];
      return items.map(() => ({ ok: true, result: { ingested: true } }));
    } catch (err) {
      if (items.length === 1) return [{ ok: false, error: errorText(err) }];
    }
    return this.each(items, (it) => ingest([it]));
  }
}
