import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";
import type { JobRow } from "./types";

const CLAIM = `UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = ?, lease_until = ?, updated_at = ?
  WHERE id IN (SELECT id FROM jobs WHERE kind = ? AND status IN ('queued', 'retry') AND run_at <= ? ORDER BY run_at, id LIMIT ?)
  RETURNING *`;

/** Takes up to `limit` due jobs of one kind, each under a fresh lease token. */
export function claimJobs(db: Db, kind: string, limit: number, leaseMs: number, now: number): JobRow[] {
  if (limit <= 0) return [];
  const token = crypto.randomUUID();
  return prepared<unknown[], JobRow>(db, CLAIM).all(token, now + leaseMs, now, kind, now, limit);
}

const NEXT_DUE = "SELECT min(run_at) FROM jobs WHERE kind = ? AND status IN ('queued', 'retry')";

/** When the next job of this kind becomes due (null: none waiting). */
export function nextDueAt(db: Db, kind: string): number | null {
  return prepared<[string], number | null>(db, NEXT_DUE).pluck().get(kind) ?? null;
}
