import type { AppContext, FeatureModule } from "../../context";
import { family } from "../../http/metrics";
import { isPgTx, type PostgresStorage, type WriteTx } from "../../store/storage";
import type { PgTx } from "../../store/postgres/client";
import { recommenderRoutes } from "./index";
import { PgPipeline } from "./pipeline-pg";
import { rebuildOnOwners } from "./rebuild-owners-pg";
import { snapshotPattern } from "./service";
import { PgRecommenderService } from "./service-pg";
import { applyStructurePg, bumpCourseVersion, readStructurePg } from "./structure-pg";

function pgOnly(tx: WriteTx): PgTx {
  if (!isPgTx(tx)) throw new Error("the recommender runs on PostgreSQL here: a SQLite transaction cannot reach it");
  return tx;
}

/**
 * The recommender on PostgreSQL: per-shard engines on the shards' owner (pipeline-pg.ts), reads
 * from the stored answers on any node, per-shard Q-table snapshots (croner on every node, each
 * for its own shards, and before the leases are handed over at shutdown).
 */
export function createRecommenderPgModule(ctx: AppContext, storage: PostgresStorage): FeatureModule {
  const pipeline = new PgPipeline({ driver: storage.driver, shards: ctx.cluster.shards, config: () => ctx.config(), clock: ctx.clock, log: ctx.log.child({ component: "recommender" }) });
  const service = new PgRecommenderService(ctx, storage.driver.sql, pipeline, () => storage.driver.shardLeases());
  ctx.scheduler.add({ name: "recommender.snapshot", pattern: snapshotPattern(ctx.config().recommender.snapshot_every), run: () => pipeline.snapshot() });
  ctx.capabilities.courseModel = {
    applyStructure: (tx, courseId, contents, now) => applyStructurePg(pgOnly(tx), courseId, contents as never, now) as Promise<unknown> as Promise<Record<string, unknown>>,
    readStructure: (courseId) => readStructurePg(storage.driver.sql, courseId),
    async staffEnrolled(tx, courseId, userId) {
      const t = pgOnly(tx);
      await t`INSERT INTO course_staff (course_id, user_id) VALUES (${courseId}, ${userId}) ON CONFLICT DO NOTHING`;
      await bumpCourseVersion(t, courseId);
    },
  };
  ctx.capabilities.recommendationsRebuild = rebuildOnOwners(ctx, storage, pipeline);
  ctx.addHealth("recommender", () => ({
    ok: true,
    owned_shards: ctx.cluster.shards.ownedShards().length,
    pending_events: pipeline.pending,
    fenced_batches: pipeline.fenced,
  }));
  ctx.metrics.addCollector(() =>
    [
      family("ferry_recommender_events_processed_total", "counter", "Moodle events run through the pipeline by this process.", [[{}, pipeline.processed]]),
      family("ferry_recommender_pending_events", "gauge", "Stored Moodle events not processed yet (all nodes' courses, as of the last poll).", [[{}, pipeline.pending]]),
      family("ferry_recommender_fenced_batches_total", "counter", "Batches refused because this node no longer held the course shard's lease.", [[{}, pipeline.fenced]]),
    ].join("\n"),
  );
  // The last batches and a snapshot of each owned shard happen in ShardOwner.stop (beforeStop), before the handover.
  ctx.onShutdown(() => pipeline.stop());
  return {
    name: "recommender",
    routes: recommenderRoutes(ctx, service),
    start() {
      pipeline.start();
    },
  };
}

export type { PgPipeline };
