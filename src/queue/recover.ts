import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

// A job whose worker died keeps status 'running' until its lease expires; then it is due again.
// The claim already counted the attempt, so a job that keeps killing its worker ends up dead.
const RECOVER = `UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'retry' END,
    run_at = ?, lease_token = NULL, lease_until = NULL, updated_at = ?,
    last_error = coalesce(last_error, '') || CASE WHEN last_error IS NULL THEN '' ELSE '; ' END || 'lease expired (worker stopped or crashed)',
    finished_at = CASE WHEN attempts >= max_attempts THEN ? ELSE NULL END
  WHERE status = 'running' AND lease_until < ? RETURNING kind`;

/** Returns the kinds of the recovered jobs (so their workers can be woken). */
export function recoverExpiredLeases(db: Db, now: number): string[] {
  return prepared<unknown[], { kind: string }>(db, RECOVER).all(now, now, now, now).map((r) => r.kind);
}
