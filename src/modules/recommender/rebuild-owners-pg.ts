import type { AppContext, RebuildOutcome } from "../../context";
import { FencedError } from "../../store/driver/types";
import type { PostgresStorage } from "../../store/storage";
import type { PgPipeline } from "./pipeline-pg";
import { RebuildWaiter, requestRebuilds, type RebuildItem } from "./rebuilds-pg";

/**
 * The jobs API's recommendations.rebuild on PostgreSQL, on whichever node claimed the job: each
 * course is rebuilt by its shard's owner (only it holds the course's model). Courses this node
 * owns are done here; the others are stored as requests for their owners (rebuilds-pg.ts) and
 * awaited for up to recommender.rebuild_wait. An item without course_id covers every course where the user
 * has that module's state, wherever their owners run. Past the bound the item still succeeds, as
 * accepted: its result names the requests still pending (their owners, or the shards' next
 * owners, do them), so a slow or failing-over owner is not reported as a failed rebuild.
 */
export function rebuildOnOwners(ctx: AppContext, storage: PostgresStorage, pipeline: PgPipeline): (item: RebuildItem) => Promise<RebuildOutcome> {
  const sql = storage.driver.sql;
  const waiter = new RebuildWaiter(storage.driver);
  return async (item) => {
    const courses =
      item.course_id !== undefined
        ? [item.course_id]
        : (await sql<{ course_id: number }[]>`SELECT DISTINCT course_id FROM user_states WHERE user_id = ${item.user_id ?? 0} ${item.module_id !== undefined ? sql`AND module_id = ${item.module_id}` : sql``} ORDER BY course_id`).map((r) => r.course_id);
    // The other owners' requests first, so they work while this node does its own courses.
    const here = (c: number) => ctx.cluster.shards.epochOf(pipeline.shardOf(c)) !== null;
    const request = (cs: number[]) => requestRebuilds(storage.driver, cs.map((c) => ({ course: c, shard: pipeline.shardOf(c) })), item, ctx.clock.now());
    const others = courses.filter((c) => !here(c));
    const ids = others.length ? await request(others) : new Map<number, number>();
    let refreshed = 0;
    const lost: number[] = [];
    for (const c of courses.filter(here)) {
      const n = await pipeline.rebuild(c, item).catch((err) => {
        if (err instanceof FencedError) return null;
        throw err;
      });
      if (n === null) lost.push(c); // the shard moved away meanwhile (or its lease was taken): its new owner does it
      else refreshed += n;
    }
    if (lost.length) for (const [c, id] of await request(lost)) ids.set(c, id);
    if (!ids.size) return { refreshed };
    const wait = ctx.config().recommender.rebuild_wait;
    const done = await waiter.wait([...ids.values()], wait);
    for (const n of done.values()) refreshed += n;
    const pending = [...ids].flatMap(([course, id]) => (done.has(id) ? [] : [{ rebuild_id: id, course_id: course, shard: pipeline.shardOf(course) }]));
    if (!pending.length) return { refreshed };
    return {
      refreshed,
      status: "accepted",
      pending,
      message: `stored for the owners of their course shards, not done within ${wait} ms (recommender.rebuild_wait); the owner (or the shard's next owner) does each; refreshed counts only the courses done so far`,
    };
  };
}
