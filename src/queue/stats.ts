import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

const DEPTH = "SELECT kind, status, count(*) AS n FROM jobs WHERE status != 'done' GROUP BY kind, status";
const DONE = "SELECT kind, count(*) AS n FROM jobs WHERE status = 'done' GROUP BY kind";

/** Jobs per kind and status ({ kind: { queued, running, retry, dead, done } }). */
export function queueDepth(db: Db): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of prepared<[], { kind: string; status: string; n: number }>(db, DEPTH).all()) {
    (out[r.kind] ??= { queued: 0, running: 0, retry: 0, dead: 0, done: 0 })[r.status] = r.n;
  }
  for (const r of prepared<[], { kind: string; n: number }>(db, DONE).all()) {
    (out[r.kind] ??= { queued: 0, running: 0, retry: 0, dead: 0, done: 0 }).done = r.n;
  }
  return out;
}

const GET = "SELECT * FROM jobs WHERE id = ?";
export function getJob<T = import("./types").JobRow>(db: Db, id: number): T | undefined {
  return prepared<[number], T>(db, GET).get(id);
}
