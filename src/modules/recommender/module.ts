import { isPgTx, type WriteTx } from "../../store/storage";
import type { Db } from "../../store/sqlite";
import type { AppContext, FeatureModule } from "../../context";
import { family } from "../../http/metrics";
import { prepared } from "../../store/prepared";
import { recommenderRoutes } from "./index";
import { PIPELINE_JOB } from "../moodle/service";
import { RecommenderService, snapshotPattern } from "./service";
import { applyStructure, readStructure } from "./structure";
import { createRecommenderPgModule } from "./module-pg";

/** Wires the recommender: the pipeline job, Q-table snapshots (croner + shutdown), routes, health. */
/** Until the recommender's PostgreSQL SQL exists (issue 12). */
function sqliteOnly(tx: WriteTx): Db {
  if (isPgTx(tx)) throw new Error("the recommender's course model is not ported to PostgreSQL yet");
  return tx;
}

export function createRecommenderModule(ctx: AppContext): FeatureModule {
  if (ctx.storage.kind === "postgres") return createRecommenderPgModule(ctx, ctx.storage);
  const service = new RecommenderService(ctx);
  ctx.queue.register(PIPELINE_JOB, {
    // One at a time: events are processed per course in order, and learning must be deterministic.
    concurrency: 1,
    maxAttempts: 10,
    backoff: { type: "exponential", baseMs: 500, maxMs: 60_000, jitter: 0.2 },
    handler: () => service.runPipeline(),
  });
  ctx.scheduler.add({ name: "recommender.snapshot", pattern: snapshotPattern(ctx.config().recommender.snapshot_every), run: () => service.snapshot() });
  // Runs after the queue stopped (Daemon.stop), so the snapshot includes every processed event.
  ctx.onShutdown(() => {
    service.stopped = true;
    return service.snapshotNow();
  });
  ctx.capabilities.courseModel = {
    applyStructure(tx, courseId, contents, now) {
      const db = sqliteOnly(tx);
      const out = applyStructure(db, courseId, contents as never, now);
      service.engine.invalidateCourse(courseId);
      return out as unknown as Record<string, unknown>;
    },
    readStructure: (courseId) => readStructure(ctx.store.db, courseId),
    staffEnrolled(tx, courseId, userId) {
      const db = sqliteOnly(tx);
      prepared(db, "INSERT OR IGNORE INTO course_staff (course_id, user_id) VALUES (?, ?)").run(courseId, userId);
      service.engine.invalidateCourse(courseId);
    },
  };
  ctx.capabilities.recommendationsRebuild = async (item) => ({ refreshed: await ctx.store.write((db) => service.engine.rebuild(db, item)) });
  ctx.addHealth("recommender", () => ({
    ok: true,
    last_seq: service.engine.q.lastSeq,
    courses: service.engine.q.courses.size,
    pending_events: service.pendingEvents(),
  }));
  ctx.metrics.addCollector(() =>
    [
      family("ferry_recommender_events_processed_total", "counter", "Moodle events run through the pipeline by this process.", [[{}, service.processed]]),
      family("ferry_recommender_pending_events", "gauge", "Stored Moodle events not processed yet.", [[{}, service.pendingEvents()]]),
    ].join("\n"),
  );
  return {
    name: "recommender",
    routes: recommenderRoutes(ctx, service),
    start() {
      const r = service.engine.load();
      if (r.replayed) ctx.log.info({ snapshotSeq: r.snapshotSeq, replayed: r.replayed }, "Q-tables restored from snapshot and replayed");
      ctx.store.onCommit(() => service.kick());
    },
  };
}
