import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";

// Small batches keep each transaction short so request writes never wait long behind cleanup.
const DELETE_DONE = "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'done' AND finished_at < ? LIMIT ?)";

export function deleteFinishedJobs(db: Db, olderThan: number, limit: number): number {
  return prepared(db, DELETE_DONE).run(olderThan, limit).changes;
}
