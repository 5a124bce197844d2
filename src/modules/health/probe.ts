// What /health and /metrics read from the database, one implementation per driver: SQLite's
// reads are synchronous and index-backed (src/queue/stats.ts); PostgreSQL's go through the
// driver (src/store/postgres/queue-sql.ts) and count every node's jobs.
import type { QueueDepth } from "../../store/driver/types";
import type { Storage } from "../../store/storage";
import { doneCount, queueDepth } from "../../queue";

export interface DatabaseSnapshot {
  ok: boolean;
  error?: string;
  schema_version?: number;
  /** unix ms of this process's last group commit (null: none yet, or not known on this driver). */
  lastCommitAt: number | null;
  /** Unfinished and dead jobs per kind (on PostgreSQL: of the whole cluster). */
  depth: QueueDepth;
  /** Finished jobs kept until queue.retention. */
  done: number;
}

export type Probe = () => DatabaseSnapshot | Promise<DatabaseSnapshot>;

/** The probe for the database this process runs on. */
export function databaseProbe(storage: Storage): Probe {
  if (storage.kind === "sqlite") {
    const store = storage.store;
    return () => {
      const snap: DatabaseSnapshot = { ...store.check(), lastCommitAt: store.lastCommitAt || null, depth: {}, done: 0 };
      if (!snap.ok) return snap;
      try {
        snap.depth = queueDepth(store.db);
        snap.done = doneCount(store.db);
        snap.schema_version = store.schemaVersion;
      } catch (err) {
        snap.ok = false;
        snap.error = (err as Error).message;
      }
      return snap;
    };
  }
  const driver = storage.driver;
  return async () => {
    const snap: DatabaseSnapshot = { ...(await driver.check()), lastCommitAt: driver.lastCommitAt || null, depth: {}, done: 0 };
    if (!snap.ok) return snap;
    try {
      [snap.depth, snap.done, snap.schema_version] = await Promise.all([driver.depth(), driver.doneCount(), driver.schemaVersion()]);
    } catch (err) {
      snap.ok = false;
      snap.error = (err as Error).message;
    }
    return snap;
  };
}
