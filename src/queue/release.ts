import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

// On shutdown, jobs still running past the deadline go back to the queue; the interrupted
// attempt is not counted against them.
const RELEASE = `UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0), lease_token = NULL, lease_until = NULL, run_at = ?, updated_at = ?
  WHERE id = ? AND lease_token = ? AND status = 'running'`;

export function releaseJob(db: Db, id: number, token: string, now: number): boolean {
  return prepared(db, RELEASE).run(now, now, id, token).changes === 1;
}
