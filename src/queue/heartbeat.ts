import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

const HEARTBEAT = "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND lease_token = ? AND status = 'running'";

/** Extends a running job's lease; false when the lease was already lost. */
export function heartbeatJob(db: Db, id: number, token: string, leaseMs: number, now: number): boolean {
  return prepared(db, HEARTBEAT).run(now + leaseMs, now, id, token).changes === 1;
}
