import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

// Each query matches one partial index (jobs_due, jobs_running, jobs_dead, jobs_finished), so
// /health and /metrics never scan the table, however many finished jobs are kept.
const WAITING = "SELECT kind, status, count(*) AS n FROM jobs WHERE status IN ('queued', 'retry') GROUP BY kind, status";
const RUNNING = "SELECT kind, 'running' AS status, count(*) AS n FROM jobs WHERE status = 'running' GROUP BY kind";
const DEAD = "SELECT kind, 'dead' AS status, count(*) AS n FROM jobs WHERE status = 'dead' GROUP BY kind";
const DONE = "SELECT count(*) FROM jobs WHERE status = 'done'";

/** Unfinished and dead jobs per kind ({ kind: { queued, running, retry, dead } }), optionally of one kind. */
export function queueDepth(db: Db, only?: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const sql of [WAITING, RUNNING, DEAD]) {
    for (const r of prepared<[], { kind: string; status: string; n: number }>(db, sql).all()) {
      if (only !== undefined && r.kind !== only) continue;
      (out[r.kind] ??= { queued: 0, running: 0, retry: 0, dead: 0 })[r.status] = r.n;
    }
  }
  return out;
}

/** Finished jobs still kept (until queue.retention). */
export function doneCount(db: Db): number {
  return prepared<[], number>(db, DONE).pluck().get() ?? 0;
}

const GET = "SELECT * FROM jobs WHERE id = ?";
export function getJob<T = import("./types").JobRow>(db: Db, id: number): T | undefined {
  return prepared<[number], T>(db, GET).get(id);
}
