import { shardWorkKind } from "../../cluster/course-work";
import type { PostgresDriver } from "../../store/driver/postgres";
import type { PgExec, PgTx } from "../../store/postgres/client";

// Rebuilds of stored answers asked of a course's shard owner (table recommender_rebuilds): the
// node that runs a recommendations.rebuild job item stores one request per course in one write
// and wakes the owner with the shard's work kind; the owner does each in a fenced transaction
// that records done_at/refreshed and announces REBUILT_KIND, which wakes the waiting node.

/** Announced (to every node, the requester included) when an owner has done rebuild requests. */
export const REBUILT_KIND = "recommender.rebuilt";
/** Done requests are kept this long (a waiter past its bound may still read the outcome), then deleted. */
const KEEP_DONE_MS = 24 * 3600_000;

export interface RebuildItem {
  user_id?: number;
  module_id?: number;
  course_id?: number;
}

export interface RebuildRequest {
  id: number;
  course_id: number;
  user_id: number | null;
  module_id: number | null;
}

/** Stores one request per course (one write, settled after COMMIT) and wakes each course's shard owner; course → request id. */
export function requestRebuilds(driver: PostgresDriver, courses: Array<{ course: number; shard: number }>, item: RebuildItem, now: number): Promise<Map<number, number>> {
  return driver.write(async (tx, w) => {
    const ids = await tx<{ id: number; course_id: number }[]>`INSERT INTO recommender_rebuilds (course_id, user_id, module_id, requested_at)
      SELECT c, ${item.user_id ?? null}::bigint, ${item.module_id ?? null}::bigint, ${now} FROM unnest(${tx.array(courses.map((c) => c.course), 20)}::bigint[]) AS c RETURNING id, course_id`;
    for (const s of new Set(courses.map((c) => c.shard))) w.notify(shardWorkKind(s));
    return new Map(ids.map((r) => [r.course_id, r.id]));
  });
}

/** Requests not done yet (every shard's; the caller keeps its own). */
export function pendingRebuilds(sql: PgExec): Promise<RebuildRequest[]> {
  return sql<RebuildRequest[]>`SELECT id, course_id, user_id, module_id FROM recommender_rebuilds WHERE done_at IS NULL ORDER BY id`;
}

/** Inside the owner's fenced transaction: locks the request; false when another transaction already did it. */
export async function claimRebuild(tx: PgTx, id: number): Promise<boolean> {
  return (await tx`SELECT 1 FROM recommender_rebuilds WHERE id = ${id} AND done_at IS NULL FOR UPDATE`).length === 1;
}

/** Inside the owner's fenced transaction: the outcome, announced to every node at COMMIT. */
export async function finishRebuild(tx: PgTx, driver: PostgresDriver, id: number, refreshed: number, now: number): Promise<void> {
  await tx`UPDATE recommender_rebuilds SET done_at = ${now}, refreshed = ${refreshed} WHERE id = ${id}`;
  await tx`DELETE FROM recommender_rebuilds WHERE done_at < ${now - KEEP_DONE_MS}`;
  // n: "" — not any node's own echo, so the requester hears it even when it is this node.
  await tx`SELECT pg_notify(${driver.channel}, ${JSON.stringify({ n: "", k: [REBUILT_KIND] })})`;
}

/**
 * Waits for the owners to do the requests `ids`: woken by REBUILT_KIND, polled as the fallback
 * (notifications are lost across reconnects), for at most `boundMs`. Returns the refreshed count
 * of each done request; the ids missing from the map were still pending at the bound.
 */
export class RebuildWaiter {
  private wakers = new Set<() => void>();
  /** Bumped by every REBUILT_KIND heard: one heard during a read is not slept through. */
  private heard = 0;

  constructor(
    private driver: PostgresDriver,
    private pollMs = 500,
  ) {
    driver.onJobsAvailable((kinds) => {
      if (!kinds.includes(REBUILT_KIND) && !kinds.includes("*")) return;
      this.heard++;
      for (const w of [...this.wakers]) w();
    });
  }

  async wait(ids: number[], boundMs: number): Promise<Map<number, number>> {
    const done = new Map<number, number>();
    const end = Date.now() + boundMs;
    for (;;) {
      const seen = this.heard;
      const rows = await this.driver.sql<{ id: number; refreshed: number }[]>`SELECT id, refreshed FROM recommender_rebuilds
        WHERE id = ANY(${this.driver.sql.array(ids.filter((i) => !done.has(i)), 20)}::bigint[]) AND done_at IS NOT NULL`;
      for (const r of rows) done.set(r.id, r.refreshed);
      const left = end - Date.now();
      if (done.size === ids.length || left <= 0) return done;
      if (this.heard !== seen) continue;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(this.pollMs, left));
        this.wakers.add(wake);
      });
    }
  }
}
