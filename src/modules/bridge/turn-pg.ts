import type { PostgresDriver } from "../../store/driver/postgres";
import { connectPg, type PgSql } from "../../store/postgres/client";
import { JOB_KIND } from "./markers";

// The advisory lock's first key ("brdg"); the second is the schema's hash, so two ferry clusters
// sharing one PostgreSQL (each in its own schema) do not wait for each other.
const LOCK = 0x62726467;

/**
 * Bridge jobs one at a time across the cluster, in the order they were claimed (River-style
 * "on one node at a time"): each node runs at most one bridge.sync job (concurrency 1, as on
 * SQLite), and before it touches Zendesk or Chatwoot it takes the cluster's turn: a PostgreSQL
 * session advisory lock on a connection of its own, held only while no bridge job claimed
 * before it (earlier run_at, id) is still running on another node; otherwise it hands the turn
 * on. So two comments on one ticket that reach two nodes are forwarded in order, a contact or
 * conversation is never created twice at once, and an echo is handled after the write it echoes
 * — as with one process. A node that dies holding the turn releases it with its connection.
 */
export class PgBridgeTurn {
  private conn: PgSql | null = null;

  constructor(
    private driver: PostgresDriver,
    private pollMs = 25,
  ) {}

  /** Waits for the turn of job `jobId`; returns its release. Throws when `signal` aborts first. */
  async take(jobId: number, signal: AbortSignal): Promise<() => Promise<void>> {
    const conn = (this.conn ??= connectPg({ ...this.driver.options, pool: 1 }));
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("bridge job interrupted while waiting for its turn");
      const [lock] = await conn<{ got: boolean }[]>`SELECT pg_try_advisory_lock(${LOCK}, hashtext(current_schema())) AS got`;
      if (lock!.got) {
        const older = await conn`SELECT 1 FROM jobs o, jobs me WHERE me.id = ${jobId} AND o.kind = ${JOB_KIND} AND o.status = 'running'
          AND o.id <> me.id AND (o.run_at, o.id) < (me.run_at, me.id) LIMIT 1`;
        if (older.length === 0) return () => this.unlock(conn);
        await this.unlock(conn); // an earlier job waits for the turn (or is being completed): it goes first
      }
      await Bun.sleep(this.pollMs);
    }
  }

  /** A failed unlock means the connection is gone, and the lock went with it. */
  private async unlock(conn: PgSql): Promise<void> {
    await conn`SELECT pg_advisory_unlock(${LOCK}, hashtext(current_schema()))`.catch(() => {});
  }

  async close(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    await c?.end({ timeout: 1 });
  }
}
