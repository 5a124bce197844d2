import type { AppContext } from "../../context";
import { HttpError } from "../../http/errors";
import type { ShardLease } from "../../store/driver/types";
import type { PgSql } from "../../store/postgres/client";
import { ACTIONS } from "./actions";
import type { PgPipeline } from "./pipeline-pg";
import { emptyAnswer, NO_RECS } from "./service";

/**
 * The recommender's reads on PostgreSQL, served by any node from the stored answers (the shard
 * owner refreshes a learner's rows in the batch that processed their events). Unlike SQLite's
 * in-process cache, an answer is not re-ranked at read time when other learners moved the model
 * since: only the owner holds that model.
 */
export class PgRecommenderService {
  constructor(
    private ctx: AppContext,
    private sql: PgSql,
    private pipeline: PgPipeline,
    /** The cluster's shard leases (a read of another node's course names its owner). */
    private leases: () => Promise<ShardLease[]>,
  ) {}

  async getOne(userId: number, moduleId: number, courseId: number | null, k: number | null): Promise<string> {
    const [row] =
      courseId === null
        ? await this.sql<{ id: number; k: number; body: string }[]>`SELECT id, k, body FROM recommendations WHERE user_id = ${userId} AND module_id = ${moduleId} ORDER BY generated_at DESC LIMIT 1`
        : await this.sql<{ id: number; k: number; body: string }[]>`SELECT id, k, body FROM recommendations WHERE user_id = ${userId} AND module_id = ${moduleId} AND course_id = ${courseId}`;
    if (!row) return JSON.stringify(emptyAnswer(userId, moduleId, courseId));
    if (k === null || k === row.k) return row.body;
    const [f] = await this.sql<{ full: string }[]>`SELECT "full" FROM recommendations WHERE id = ${row.id}`;
    if (!f) return JSON.stringify(emptyAnswer(userId, moduleId, courseId));
    const full = JSON.parse(f.full);
    full.recommendations = full.recommendations.slice(0, k);
    return JSON.stringify(full);
  }

  async getForUser(userId: number, courseId: number | null): Promise<Record<string, unknown>> {
    const rows =
      courseId === null
        ? await this.sql<{ body: string }[]>`SELECT body FROM recommendations WHERE user_id = ${userId} ORDER BY course_id, module_id`
        : await this.sql<{ body: string }[]>`SELECT body FROM recommendations WHERE user_id = ${userId} AND course_id = ${courseId} ORDER BY module_id`;
    const modules = rows.map((r) => JSON.parse(r.body));
    const out: Record<string, unknown> = { user_id: userId, course_id: courseId, modules };
    if (modules.length === 0) out.message = NO_RECS;
    return out;
  }

  /** The live Q-tables this node holds (its shards' courses); a course of another node's shard → 404 naming its owner. */
  async qtable(courseId: number | null): Promise<Record<string, unknown>> {
    const rc = this.ctx.config().recommender;
    const [snap] = await this.sql<{ last_seq: number; created_at: number }[]>`SELECT last_seq, created_at FROM qtable_snapshots ORDER BY id DESC LIMIT 1`;
    const base = {
      node_id: this.ctx.cluster.nodeId,
      alpha: rc.alpha,
      gamma: rc.gamma,
      actions: ACTIONS.map((a) => `${a.type}:${a.time}`),
      state_key: "level|module_idx|progress|score|phase|engagement",
      last_snapshot: snap ? { last_seq: snap.last_seq, at: new Date(snap.created_at).toISOString() } : null,
    };
    if (courseId === null) {
      const engines = await this.pipeline.ownedEngines();
      const courses = engines.flatMap((e) => [...e.q.courses.entries()].map(([c, t]) => ({ course_id: c, shard: e.shard, states: t.q.size, updates: t.updates })));
      return { ...base, last_seq: Math.max(0, ...engines.map((e) => e.q.lastSeq)), owned_shards: this.ctx.cluster.shards.ownedShards(), courses: courses.sort((a, b) => a.course_id - b.course_id) };
    }
    const engine = await this.pipeline.engineOf(courseId);
    if (!engine) throw await this.notHere(courseId);
    const t = engine.q.courseTable(courseId);
    if (!t) throw new HttpError(404, "not_found", `no Q-table for course ${courseId} yet (no learning events processed)`);
    return { ...base, last_seq: engine.q.lastSeq, course_id: courseId, shard: engine.shard, updates: t.updates, states: t.q };
  }

  /** 404 for a course of a shard this node does not own, naming the node whose lease holds it (where to ask). */
  private async notHere(courseId: number): Promise<HttpError> {
    const shard = this.pipeline.shardOf(courseId);
    const now = this.ctx.clock.now();
    const lease = (await this.leases()).find((l) => l.shard === shard && l.expires_at >= now && l.node_id !== this.ctx.cluster.nodeId);
    const owner = lease?.node_id ?? null;
    const where = owner ? `owned by node "${owner}": ask that node` : "which no live node holds right now (a takeover is under way): ask again shortly";
    return new HttpError(404, "not_found", `course ${courseId} is in shard ${shard}, ${where} (GET /health lists the owners)`, { course_id: courseId, shard, owner_node_id: owner });
  }
}
