import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

const REPLAY_ONE = `UPDATE jobs SET status = 'queued', attempts = 0, run_at = ?, lease_token = NULL, lease_until = NULL, finished_at = NULL, updated_at = ?
  WHERE id = ? AND status = 'dead' RETURNING kind`;
const REPLAY_KIND = `UPDATE jobs SET status = 'queued', attempts = 0, run_at = ?, lease_token = NULL, lease_until = NULL, finished_at = NULL, updated_at = ?
  WHERE status = 'dead' AND kind = ? RETURNING id`;

/** Puts a dead job back in the queue with a fresh attempt budget. Returns its kind, or null if it was not dead. */
export function replayJob(db: Db, id: number, now: number): string | null {
  return prepared<unknown[], { kind: string }>(db, REPLAY_ONE).get(now, now, id)?.kind ?? null;
}

export function replayDeadJobs(db: Db, kind: string, now: number): number[] {
  return prepared<unknown[], { id: number }>(db, REPLAY_KIND).all(now, now, kind).map((r) => r.id);
}
