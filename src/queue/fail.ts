import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

const RETRY = `UPDATE jobs SET status = 'retry', run_at = ?, last_error = ?, lease_token = NULL, lease_until = NULL, updated_at = ?
  WHERE id = ? AND lease_token = ? AND status = 'running'`;
const DEAD = `UPDATE jobs SET status = 'dead', last_error = ?, lease_token = NULL, lease_until = NULL, updated_at = ?, finished_at = ?
  WHERE id = ? AND lease_token = ? AND status = 'running'`;

/** Records a failed attempt: retry at `retryAt`, or dead when `retryAt` is null. False if the lease was lost. */
export function failJob(db: Db, id: number, token: string, error: string, retryAt: number | null, now: number): boolean {
  const message = error.slice(0, 2000);
  if (retryAt === null) return prepared(db, DEAD).run(message, now, now, id, token).changes === 1;
  return prepared(db, RETRY).run(retryAt, message, now, id, token).changes === 1;
}

export function failJobs(db: Db, jobs: Array<{ id: number; token: string; error: string; retryAt: number | null }>, now: number): boolean[] {
  return jobs.map((j) => failJob(db, j.id, j.token, j.error, j.retryAt, now));
}
