import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

const COMPLETE = `UPDATE jobs SET status = 'done', result = ?, lease_token = NULL, lease_until = NULL, last_error = NULL, updated_at = ?, finished_at = ?
  WHERE id = ? AND lease_token = ? AND status = 'running'`;

/** Marks a job done if the caller still holds its lease; false means the lease was lost (another worker owns it). */
export function completeJob(db: Db, id: number, token: string, result: unknown, now: number): boolean {
  const json = result === undefined ? null : JSON.stringify(result);
  return prepared(db, COMPLETE).run(json, now, now, id, token).changes === 1;
}

export function completeJobs(db: Db, jobs: Array<{ id: number; token: string; result?: unknown }>, now: number): boolean[] {
  return jobs.map((j) => completeJob(db, j.id, j.token, j.result, now));
}
