import type { AppContext, HealthSection, HealthSectionValue } from "../../context";
import { scrubUrls, stripUserinfo } from "../../config/mask";
import { family } from "../../http/metrics";
import type { DriverName } from "../../store/driver/types";
import { databaseProbe, type DatabaseSnapshot, type Probe } from "./probe";

export interface HealthReport {
  status: "ok" | "degraded" | "unavailable";
  /** One line per part that is not ok ("webhooks: degraded", "queue: 2 dead jobs (bridge.sync)"). */
  problems: string[];
  version: string;
  uptime_seconds: number;
  started_at: string;
  database: { ok: boolean; driver: DriverName; error?: string; schema_version?: number; last_commit_at: string | null };
  /**
   * depth: unfinished and dead jobs per kind; done: finished jobs kept until queue.retention (on
   * PostgreSQL both count every node's jobs); running and outcomes: this process's.
   */
  queue: { depth: Record<string, Record<string, number>>; done: number; running: number; outcomes: Record<string, unknown> };
  scheduler: ReturnType<AppContext["scheduler"]["status"]>;
  [section: string]: unknown;
}

const BAD_STATUS = new Set(["degraded", "failing", "unavailable", "error"]);

/**
 * Why a feature section is not ok (`ok: false`, or a `status` such as degraded/failing), plus the
 * section's own `problems` (e.g. dead deliveries), each a line.
 */
function sectionProblems(value: HealthSectionValue): string[] {
  const out: string[] = [];
  const status = typeof value.status === "string" ? value.status : null;
  if (status && BAD_STATUS.has(status)) out.push(status);
  else if (value.ok === false) out.push(typeof value.error === "string" ? value.error : status ?? "not ok");
  if (Array.isArray(value.problems)) for (const p of value.problems) if (typeof p === "string") out.push(p);
  return out;
}

export class HealthService {
  private sections = new Map<string, HealthSection>();
  private probe: Probe;

  constructor(private ctx: AppContext) {
    this.probe = databaseProbe(ctx.storage);
  }

  add(name: string, section: HealthSection): void {
    this.sections.set(name, section);
  }

  /** The probe, bounded: a database that does not answer (a host gone silent) is reported unusable, not waited for. */
  private async readProbe(): Promise<DatabaseSnapshot> {
    try {
      return await bounded(this.probe(), `the database did not answer within ${ANSWER_MS / 1000} s`);
    } catch (err) {
      return { ok: false, error: (err as Error).message, lastCommitAt: null, depth: {}, done: 0 };
    }
  }

  /**
   * 503 when the database cannot be used; "degraded" when any part has a problem: a feature section
   * with `ok: false` or a degraded/failing `status`, a failed maintenance service, or dead jobs.
   */
  async report(): Promise<{ httpStatus: number; body: HealthReport }> {
    const { queue, scheduler } = this.ctx;
    // Sections are read concurrently (on PostgreSQL each may wait for the database).
    const [db, ...values] = await Promise.all([this.readProbe(), ...[...this.sections.values()].map((section) => settle(section))]);
    const { depth, done } = db;
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
        driver: this.ctx.storage.kind,
        ...(db.error ? { error: db.error } : {}),
        ...(db.ok && db.schema_version !== undefined ? { schema_version: db.schema_version } : {}),
        last_commit_at: db.lastCommitAt ? new Date(db.lastCommitAt).toISOString() : null,
      },
      queue: { depth, done, running: queue.runningCount(), outcomes: queue.outcomes() },
      scheduler: jobs,
    };
    [...this.sections.keys()].forEach((name, i) => {
      const r = values[i]!;
      if (r.ok) {
        // /health needs no token: no section may show credentials inside a URL.
        body[name] = scrubUrls(r.value);
        for (const problem of sectionProblems(r.value)) problems.push(`${name}: ${problem}`);
      } else {
        const message = stripUserinfo((r.error as Error)?.message ?? String(r.error));
        body[name] = { ok: false, error: message };
        problems.push(`${name}: ${message}`);
      }
    });
    if (!db.ok) body.status = "unavailable";
    else if (problems.length) body.status = "degraded";
    return { httpStatus: db.ok ? 200 : 503, body };
  }

  /** Prometheus families for the queue, the database and this node in the cluster (scraped with the HTTP ones). */
  async queueMetrics(): Promise<string> {
    let depth: Record<string, Record<string, number>> = {};
    let done = 0;
    let up = 0;
    try {
      const db = await this.readProbe();
      if (db.ok) ({ depth, done } = db);
      up = db.ok ? 1 : 0;
    } catch {
      // The health endpoint reports the database problem; metrics just show it down.
    }
    const depthRows: Array<[Record<string, string>, number]> = [];
    for (const [kind, byStatus] of Object.entries(depth)) {
      for (const [status, n] of Object.entries(byStatus)) depthRows.push([{ kind, status }, n]);
    }
    const outcomeRows: Array<[Record<string, string>, number]> = [];
    for (const [kind, o] of Object.entries(this.ctx.queue.outcomes())) {
      for (const [outcome, n] of Object.entries(o)) outcomeRows.push([{ kind, outcome }, n]);
    }
    const c = this.ctx.cluster.status();
    const node = { driver: c.driver, node: c.node_id };
    return [
      family("ferry_queue_jobs", "gauge", "Unfinished and dead jobs in the durable queue by kind and status (on PostgreSQL: every node's).", depthRows),
      family("ferry_queue_jobs_done", "gauge", "Finished jobs kept until queue.retention.", [[{}, done]]),
      family("ferry_job_outcomes_total", "counter", "Job attempts finished by this process, by kind and outcome.", outcomeRows),
      family("ferry_store_commits_total", "counter", "Group commits since start.", [[{}, this.ctx.storage.driver.commits]]),
      family("ferry_database_up", "gauge", "1 while the database answers.", [[{ driver: this.ctx.storage.kind }, up]]),
      family("ferry_uptime_seconds", "gauge", "Seconds since ferry started.", [[{}, Math.round((Date.now() - this.ctx.startedAt) / 1000)]]),
      // The cluster as /health shows it: who leads and which peers this node sees (the owned shards
      // are counted in ferry_cluster_owned_shards; a series per shard would be thousands).
      family("ferry_cluster_leader", "gauge", "1 for the node this node sees as the leader.", c.leader ? [[{ ...node, leader: c.leader }, 1]] : []),
      family("ferry_cluster_peer", "gauge", "1 per node (this one included) with a fresh heartbeat.", c.peers.map((p): [Record<string, string>, number] => [{ ...node, peer: p }, 1])),
    ].join("\n");
  }
}

// /health answers load balancers and `ferry status` (which waits 5 s): a read that hangs is reported, not waited for.
const ANSWER_MS = 3_000;

/** `value` itself when it is no promise (SQLite: nothing changes); else the promise, or `message` as an error after ANSWER_MS. */
function bounded<T>(value: T | Promise<T>, message: string): T | Promise<T> {
  if (!(value instanceof Promise)) return value;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ANSWER_MS)));
  return Promise.race([value, late]).finally(() => clearTimeout(timer));
}

type Settled = { ok: true; value: HealthSectionValue } | { ok: false; error: unknown };

/** A section's value, or what it threw (sync or async). */
async function settle(section: HealthSection): Promise<Settled> {
  try {
    return { ok: true, value: await bounded(section(), `no answer within ${ANSWER_MS / 1000} s`) };
  } catch (error) {
    return { ok: false, error };
  }
}
