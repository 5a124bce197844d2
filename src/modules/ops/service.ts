import { maskSecrets, stripUserinfo } from "../../config/mask";
import type { AppContext } from "../../context";
import { HttpError } from "../../http/errors";
import { KIND_PREFIX as WEBHOOK_KIND_PREFIX } from "../webhooks/engine";
import type { JobRow } from "../../queue";
import { jobLister, type JobListQuery, type ListJobs } from "./job-list";

export interface JobView {
  id: number;
  kind: string;
  status: string;
  attempts: number;
  max_attempts: number;
  run_at: string;
  last_error: string | null;
  dedupe_key: string | null;
  created_at: string;
  finished_at: string | null;
  payload?: unknown;
  result?: unknown;
}

function view(row: JobRow, full: boolean): JobView {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    run_at: new Date(row.run_at).toISOString(),
    // Errors of outgoing calls may quote a URL with credentials in it.
    last_error: row.last_error === null ? null : stripUserinfo(row.last_error),
    dedupe_key: row.dedupe_key,
    created_at: new Date(row.created_at).toISOString(),
    finished_at: row.finished_at ? new Date(row.finished_at).toISOString() : null,
    ...(full ? { payload: JSON.parse(row.payload), result: row.result ? JSON.parse(row.result) : null } : {}),
  };
}

/**
 * Operator views of the running daemon: effective config (secrets masked) and the job queue. Reads
 * and replays go through the storage driver, so they work the same on SQLite and PostgreSQL (where
 * a replay wakes the kind's workers on every node).
 */
export class OpsService {
  private list: ListJobs;

  constructor(private ctx: AppContext) {
    this.list = jobLister(ctx.storage);
  }

  private get driver() {
    return this.ctx.storage.driver;
  }

  effectiveConfig(): unknown {
    return maskSecrets(this.ctx.config());
  }

  async listJobs(q: JobListQuery): Promise<{ jobs: JobView[]; next_before: number | null }> {
    const rows = await this.list(q);
    return { jobs: rows.map((r) => view(r, false)), next_before: rows.length === q.limit ? rows[rows.length - 1]!.id : null };
  }

  async job(id: number): Promise<JobView> {
    const row = await this.driver.getJob(id);
    if (!row) throw new HttpError(404, "not_found", `no job ${id}`);
    return view(row, true);
  }

  /** Replays every dead job of a kind (after fixing what killed them); the driver wakes its workers after the commit. */
  async replayKind(kind: string): Promise<{ kind: string; replayed: number[] }> {
    ownedElsewhere(kind);
    const replayed = await this.driver.replayKind(kind, this.ctx.clock.now());
    return { kind, replayed };
  }

  /** Replays a dead job: back to queued with a fresh attempt budget. */
  async replay(id: number): Promise<JobView> {
    const found = await this.driver.getJob(id);
    if (found) ownedElsewhere(found.kind);
    const kind = await this.driver.replay(id, this.ctx.clock.now());
    if (kind === null) {
      const row = await this.driver.getJob(id);
      if (!row) throw new HttpError(404, "not_found", `no job ${id}`);
      throw new HttpError(409, "not_dead", `job ${id} is ${row.status}; only dead jobs can be replayed`);
    }
    return this.job(id);
  }
}

/**
 * Webhook deliveries keep their own state beside the job; replaying only the job would find the
 * delivery finished and send nothing. They have their own replay routes.
 */
function ownedElsewhere(kind: string): void {
  if (kind.startsWith(WEBHOOK_KIND_PREFIX)) {
    throw new HttpError(409, "use_delivery_replay", `jobs of kind ${kind} are webhook deliveries: replay them with POST /api/v1/deliveries/{id}/retry or POST /api/v1/webhook-failures/retry`);
  }
}
