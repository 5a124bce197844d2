import type { AppContext } from "../../context";
import { HttpError } from "../../http/errors";
import { prepared } from "../../store/prepared";
import { ACTIONS } from "./actions";
import { bodyJson, Engine } from "./engine";

const encoder = new TextEncoder();
/** How long a drain waits for more events after the commit that kicked it. */
const DRAIN_WINDOW_MS = 1;

export { PIPELINE_JOB } from "../moodle/service";
export const NO_RECS = "No recommendations available yet";

/** croner pattern for a snapshot interval: whole seconds below a minute, else whole minutes, else hours. */
export function snapshotPattern(ms: number): string {
  const sec = Math.max(1, Math.round(ms / 1000));
  if (sec < 60) return `*/${sec} * * * * *`;
  const min = Math.round(sec / 60);
  if (min < 60) return `0 */${min} * * * *`;
  return `0 0 */${Math.min(23, Math.round(min / 60))} * * *`;
}

export class RecommenderService {
  readonly engine: Engine;
  processed = 0;

  /**
   * The stored answers most recently read, as bytes. Entries are dropped inside the transaction
   * that rewrites the row; transactions run synchronously, so no read can slip between the drop
   * and the commit. Bounded: the oldest entries go first.
   */
  private answers = new Map<string, { id: number; k: number; courseId: number; version: number; body: Uint8Array; full?: string }>();
  private static readonly CACHE_MAX = 20_000;

  constructor(private ctx: AppContext) {
    this.engine = new Engine(ctx.store, () => ctx.config(), ctx.log.child({ component: "recommender" }));
    this.engine.onStored = (userId, courseId, moduleId) => {
      this.answers.delete(`${userId}:${moduleId}:${courseId}`);
      this.answers.delete(`${userId}:${moduleId}:*`);
    };
    // Erasure / unenrolment: every cached answer of the user (in that course) goes.
    this.engine.onErased = (userId) => {
      for (const key of [...this.answers.keys()]) if (key.startsWith(`${userId}:`)) this.answers.delete(key);
    };
  }

  private draining = false;
  stopped = false;

  /**
   * After every commit: if events are pending, drain them now, without waiting for the queue to
   * claim the pipeline job (that claim is one more commit and fsync between an event and its
   * refreshed answer). The job stays the durable trigger: it runs after a crash or a failed
   * drain and then finds whatever is left.
   */
  kick(): void {
    if (this.draining || this.stopped) return;
    if (!prepared<[], number>(this.ctx.store.db, "SELECT 1 FROM log_events WHERE processed = 0 LIMIT 1").pluck().get()) return;
    this.draining = true;
    // A short window gathers what the next requests commit into the same drain (under load one
    // drain per commit would refresh the same learners again and again).
    setTimeout(() => {
      void this.runPipeline()
        .catch((err) => this.ctx.log.warn({ err }, "pipeline drain failed; the queued job will retry"))
        .finally(() => {
          this.draining = false;
        });
    }, DRAIN_WINDOW_MS);
  }

  /** The queued pipeline job: drains pending events in batches, each batch one transaction. */
  async runPipeline(): Promise<{ processed: number; transitions: number }> {
    const size = this.ctx.config().recommender.batch_size;
    let processed = 0;
    let transitions = 0;
    for (;;) {
      let r;
      try {
        r = await this.ctx.store.write((db) => this.engine.processPending(db, size));
      } catch (err) {
        // The batch rolled back; memory may hold part of it, so rebuild from the database.
        this.engine.resetCaches(true);
        throw err;
      }
      processed += r.processed;
      transitions += r.transitions;
      if (r.processed < size) break;
    }
    this.processed += processed;
    return { processed, transitions };
  }

  async snapshot(): Promise<{ written: boolean; lastSeq: number }> {
    return this.ctx.store.write((db) => this.engine.snapshot(db, Date.now()));
  }

  snapshotNow(): { written: boolean; lastSeq: number } {
    return this.ctx.store.writeNow((db) => this.engine.snapshot(db, Date.now()));
  }

  /**
   * GET /api/recommendations/{user}/{module}: the stored row as is (fast path), sliced for ?k=.
   * A cached answer computed before the course's model changed (other learners' moves) is
   * recomputed from the model once, so the answer is what ferry would rank now.
   */
  getOne(userId: number, moduleId: number, courseId: number | null, k: number | null): string | Uint8Array {
    const db = this.ctx.store.db;
    const key = `${userId}:${moduleId}:${courseId ?? "*"}`;
    let row = this.answers.get(key);
    if (!row) {
      const got =
        courseId === null
          ? prepared<[number, number], { id: number; k: number; course_id: number; body: Uint8Array }>(db, "SELECT id, k, course_id, CAST(body AS BLOB) AS body FROM recommendations WHERE user_id = ? AND module_id = ? ORDER BY generated_at DESC LIMIT 1").get(userId, moduleId)
          : prepared<[number, number, number], { id: number; k: number; course_id: number; body: Uint8Array }>(db, "SELECT id, k, course_id, CAST(body AS BLOB) AS body FROM recommendations WHERE user_id = ? AND module_id = ? AND course_id = ?").get(userId, moduleId, courseId);
      if (got) {
        row = { id: got.id, k: got.k, courseId: got.course_id, version: this.engine.courseVersion(got.course_id), body: got.body };
        if (this.answers.size >= RecommenderService.CACHE_MAX) this.answers.delete(this.answers.keys().next().value!);
        this.answers.set(key, row);
      }
    }
    if (!row) return JSON.stringify(emptyAnswer(userId, moduleId, courseId));
    const version = this.engine.courseVersion(row.courseId);
    if (row.version !== version) {
      const fresh = this.engine.freshAnswer(userId, row.courseId, moduleId, 10);
      if (!fresh) return JSON.stringify(emptyAnswer(userId, moduleId, courseId));
      const json = bodyJson(fresh, row.k);
      row.body = encoder.encode(json.body);
      row.full = json.full;
      row.version = version;
    }
    // The stored UTF-8 bytes go out as they are: no decode and re-encode of a few KB per request.
    if (k === null || k === row.k) return row.body;
    // Only a different ?k= needs the longer list.
    const full = JSON.parse(row.full ?? prepared<[number], string>(db, "SELECT full FROM recommendations WHERE id = ?").pluck().get(row.id)!);
    full.recommendations = full.recommendations.slice(0, k);
    return JSON.stringify(full);
  }

  /** GET /api/v1/recommendations/{user}?course_id=: every module of the course (or all courses). */
  getForUser(userId: number, courseId: number | null): Record<string, unknown> {
    const db = this.ctx.store.db;
    const rows =
      courseId === null
        ? prepared<[number], { body: string }>(db, "SELECT body FROM recommendations WHERE user_id = ? ORDER BY course_id, module_id").all(userId)
        : prepared<[number, number], { body: string }>(db, "SELECT body FROM recommendations WHERE user_id = ? AND course_id = ? ORDER BY module_id").all(userId, courseId);
    const modules = rows.map((r) => JSON.parse(r.body));
    const out: Record<string, unknown> = { user_id: userId, course_id: courseId, modules };
    if (modules.length === 0) out.message = NO_RECS;
    return out;
  }

  /** GET /api/v1/recommender/qtable: the live Q-table of a course (ops: inspect what was learned). */
  qtable(courseId: number | null): Record<string, unknown> {
    const q = this.engine.q;
    const snap = prepared<[], { last_seq: number; created_at: number }>(this.ctx.store.db, "SELECT last_seq, created_at FROM qtable_snapshots ORDER BY id DESC LIMIT 1").get();
    const base = {
      last_seq: q.lastSeq,
      alpha: q.alpha,
      gamma: q.gamma,
      actions: ACTIONS.map((a) => `${a.type}:${a.time}`),
      state_key: "level|module_idx|progress|score|phase|engagement",
      last_snapshot: snap ? { last_seq: snap.last_seq, at: new Date(snap.created_at).toISOString() } : null,
    };
    if (courseId === null) {
      return {
        ...base,
        courses: [...q.courses.entries()].sort(([a], [b]) => a - b).map(([c, t]) => ({ course_id: c, states: t.q.size, updates: t.updates })),
        global: { states: q.global.q.size, updates: q.global.updates },
      };
    }
    const t = q.courseTable(courseId);
    if (!t) throw new HttpError(404, "not_found", `no Q-table for course ${courseId} yet (no learning events processed)`);
    return { ...base, course_id: courseId, updates: t.updates, ranking: this.engine.rankingWeights(courseId), states: t.q };
  }

  pendingEvents(): number {
    return prepared<[], number>(this.ctx.store.db, "SELECT count(*) FROM log_events WHERE processed = 0").pluck().get() ?? 0;
  }
}

export function emptyAnswer(userId: number, moduleId: number, courseId: number | null) {
  return { user_id: userId, course_id: courseId, module_id: moduleId, state: null, state_tuple: null, recommendations: [], message: NO_RECS };
}
