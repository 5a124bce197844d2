import type { AppContext, HealthSection } from "../../context";
import { scrubUrls, stripUserinfo } from "../../config/mask";
import { family } from "../../http/metrics";
import { doneCount, queueDepth } from "../../queue";

export interface HealthReport {
  status: "ok" | "degraded" | "unavailable";
  /** One line per part that is not ok ("webhooks: degraded", "queue: 2 dead jobs (bridge.sync)"). */
  problems: string[];
  version: string;
  uptime_seconds: number;
  started_at: string;
  database: { ok: boolean; error?: string; schema_version?: number; last_commit_at: string | null };
  /** depth: unfinished and dead jobs per kind; done: finished jobs kept until queue.retention. */
  queue: { depth: Record<string, Record<string, number>>; done: number; running: number; outcomes: Record<string, unknown> };
  scheduler: ReturnType<AppContext["scheduler"]["status"]>;
  [section: string]: unknown;
}

const BAD_STATUS = new Set(["degraded", "failing", "unavailable", "error"]);

/**
 * Why a feature section is not ok (`ok: false`, or a `status` such as degraded/failing), plus the
 * section's own `problems` (e.g. dead deliveries), each a line.
 */
function sectionProblems(value: { ok?: boolean } & Record<string, unknown>): string[] {
  const out: string[] = [];
  const status = typeof value.status === "string" ? value.status : null;
  if (status && BAD_STATUS.has(status)) out.push(status);
  else if (value.ok === false) out.push(typeof value.error === "string" ? value.error : status ?? "not ok");
  if (Array.isArray(value.problems)) for (const p of value.problems) if (typeof p === "string") out.push(p);
  return out;
}

export class HealthService {
  private sections = new Map<string, HealthSection>();

  constructor(private ctx: AppContext) {}

  add(name: string, section: HealthSection): void {
    this.sections.set(name, section);
  }

  /**
   * 503 when the database cannot be used; "degraded" when any part has a problem: a feature section
   * with `ok: false` or a degraded/failing `status`, a failed maintenance service, or dead jobs.
   */
  report(): { httpStatus: number; body: HealthReport } {
    const { store, queue, scheduler } = this.ctx;
    const db = store.check();
    let depth: Record<string, Record<string, number>> = {};
    let done = 0;
    if (db.ok) {
      try {
        depth = queueDepth(store.db);
        done = doneCount(store.db);
      } catch (err) {
        db.ok = false;
        db.error = (err as Error).message;
      }
    }
    const jobs = scheduler.status();
    const problems: string[] = [];
    if (!db.ok) problems.push(`database: ${db.error ?? "unusable"}`);
    for (const j of jobs) if (!j.ok) problems.push(`scheduler: ${j.name} failed: ${j.last_error ?? "error"}`);
    const dead = Object.entries(depth).filter(([, byStatus]) => (byStatus.dead ?? 0) > 0);
    if (dead.length) {
      const n = dead.reduce((sum, [, byStatus]) => sum + (byStatus.dead ?? 0), 0);
      problems.push(`queue: ${n} dead job${n === 1 ? "" : "s"} (${dead.map(([kind]) => kind).join(", ")}); replay with POST /api/v1/queue/replay`);
    }
    const body: HealthReport = {
      status: "ok",
      problems,
      version: this.ctx.version,
      uptime_seconds: Math.round((Date.now() - this.ctx.startedAt) / 1000),
      started_at: new Date(this.ctx.startedAt).toISOString(),
      database: {
        ok: db.ok,
        ...(db.error ? { error: db.error } : {}),
        ...(db.ok ? { schema_version: store.schemaVersion } : {}),
        last_commit_at: store.lastCommitAt ? new Date(store.lastCommitAt).toISOString() : null,
      },
      queue: { depth, done, running: queue.runningCount(), outcomes: queue.outcomes() },
      scheduler: jobs,
    };
    for (const [name, section] of this.sections) {
      try {
        const value = section();
        // /health needs no token: no section may show credentials inside a URL.
        body[name] = scrubUrls(value);
        for (const problem of sectionProblems(value)) problems.push(`${name}: ${problem}`);
      } catch (err) {
        const message = stripUserinfo((err as Error).message);
        body[name] = { ok: false, error: message };
        problems.push(`${name}: ${message}`);
      }
    }
    if (!db.ok) body.status = "unavailable";
    else if (problems.length) body.status = "degraded";
    return { httpStatus: db.ok ? 200 : 503, body };
  }

  /** Prometheus families for the queue (scraped with the HTTP ones). */
  queueMetrics(): string {
    let depth: Record<string, Record<string, number>> = {};
    let done = 0;
    try {
      depth = queueDepth(this.ctx.store.db);
      done = doneCount(this.ctx.store.db);
    } catch {
      // The health endpoint reports the database problem; metrics just omit the family.
    }
    const depthRows: Array<[Record<string, string>, number]> = [];
    for (const [kind, byStatus] of Object.entries(depth)) {
      for (const [status, n] of Object.entries(byStatus)) depthRows.push([{ kind, status }, n]);
    }
    const outcomeRows: Array<[Record<string, string>, number]> = [];
    for (const [kind, o] of Object.entries(this.ctx.queue.outcomes())) {
      for (const [outcome, n] of Object.entries(o)) outcomeRows.push([{ kind, outcome }, n]);
    }
    return [
      family("ferry_queue_jobs", "gauge", "Unfinished and dead jobs in the durable queue by kind and status.", depthRows),
      family("ferry_queue_jobs_done", "gauge", "Finished jobs kept until queue.retention.", [[{}, done]]),
      family("ferry_job_outcomes_total", "counter", "Job attempts finished by this process, by kind and outcome.", outcomeRows),
      family("ferry_store_commits_total", "counter", "Group commits since start.", [[{}, this.ctx.store.commits]]),
      family("ferry_uptime_seconds", "gauge", "Seconds since ferry started.", [[{}, Math.round((Date.now() - this.ctx.startedAt) / 1000)]]),
    ].join("\n");
  }
}
