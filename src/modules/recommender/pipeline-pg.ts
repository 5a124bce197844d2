import type { Logger } from "pino";
import type { Config } from "../../config/schema";
import type { ShardOwner } from "../../cluster/shards";
import { shardOfWorkKind } from "../../cluster/course-work";
import { shardOfCourse } from "../../cluster/rendezvous";
import type { Clock } from "../../queue/types";
import type { PostgresDriver } from "../../store/driver/postgres";
import { FencedError } from "../../store/driver/types";
import type { PgTx } from "../../store/postgres/client";
import type { EventRow } from "./engine";
import { PgEngine } from "./engine-pg";
import type { QSnapshotData } from "./qtable";
import { claimRebuild, finishRebuild, pendingRebuilds, type RebuildRequest } from "./rebuilds-pg";

// The recommender's pipeline on PostgreSQL, one engine per course shard this node owns
// (src/cluster/shards.ts leases shards to live nodes). Only the owner processes a course's
// pending events, in (course, time, id) order; each batch is one transaction that first checks
// the lease (driver.checkShard: node + epoch, the row share-locked until commit), then writes the
// batch's learners, states, transitions, Q-table inputs and answers and marks its events
// processed — so a node that lost its lease writes nothing, and no event is learned from twice
// or never. Memory runs ahead of the database only inside that transaction; any failure drops
// the shard's engine, which is rebuilt from the database (snapshot + replay) before the next batch.


/** Told to every node when a batch erased a user: each drops what its shard engines hold of them. */
const ERASED_PREFIX = "recommender.erased.";
const erasedKind = (userId: number) => `${ERASED_PREFIX}${userId}`;

interface ShardState {
  shard: number;
  epoch: number;
  engine: PgEngine;
  ready: Promise<void>;
  /** last_seq of the newest snapshot of this shard (skip writing an unchanged one). */
  snapshotSeq: number;
}

export interface PgPipelineOptions {
  driver: PostgresDriver;
  shards: ShardOwner;
  config: () => Config;
  clock: Clock;
  log: Logger;
  /** Polling fallback for lost notifications (and the pending-events gauge). */
  pollMs?: number;
}

export class PgPipeline {
  private states = new Map<number, ShardState>();
  private dirty = new Set<number>();
  private chain: Promise<unknown> = Promise.resolve();
  private draining = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  processed = 0;
  /** Pending events (all courses), as of the last poll. */
  pending = 0;
  /** Batches refused by the lease check (this node was no longer the owner). */
  fenced = 0;
  lastRefreshAt = 0;
  /** Shards taken so far: from which snapshot, how many transitions replayed after it (tests, logs). */
  restores: Array<{ shard: number; epoch: number; snapshotSeq: number; replayed: number }> = [];
  private stopping: Promise<void> | null = null;

  constructor(private o: PgPipelineOptions) {}

  private get sql() {
    return this.o.driver.sql;
  }

  shardOf(courseId: number): number {
    return shardOfCourse(courseId, this.o.shards.count);
  }

  start(): void {
    this.o.shards.addListener({
      acquired: (s) => this.signal(s),
      lost: (s) => this.drop(s),
      beforeStop: () => this.stop(),
    });
    this.o.driver.onJobsAvailable((kinds) => {
      if (kinds.includes("*")) return this.signalAll();
      for (const k of kinds) {
        const s = shardOfWorkKind(k);
        if (s !== null) this.signal(s);
        else if (k.startsWith(ERASED_PREFIX)) this.forgetEverywhere(Number(k.slice(ERASED_PREFIX.length)));
      }
    });
    this.timer = setInterval(() => void this.poll(), this.o.pollMs ?? 1000);
    this.timer.unref?.();
    void this.poll();
  }

  /** Work for a shard (an ingest's NOTIFY, a poll, a takeover): drained soon if this node owns it. */
  signal(shard: number): void {
    if (this.stopped || this.o.shards.epochOf(shard) === null) return;
    this.dirty.add(shard);
    if (this.draining) return;
    this.draining = true;
    // One round over the shards signalled so far; signals meanwhile start the next round, after
    // whatever else was queued (a snapshot is never starved by a steady stream of events).
    void this.serial(async () => {
      const round = [...this.dirty];
      this.dirty.clear();
      try {
        for (const s of round) if (!this.stopped) await this.drainShard(s);
      } finally {
        this.draining = false;
        const next = [...this.dirty];
        this.dirty.clear();
        for (const s of next) this.signal(s);
      }
    });
  }

  private signalAll(): void {
    for (const s of this.o.shards.ownedShards()) this.signal(s);
  }

  /** Drains and snapshots run one at a time (a snapshot must never see a batch that may still roll back). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => {});
    return p;
  }

  /** Resolves once everything signalled so far is processed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining || this.dirty.size) await this.chain;
    await this.chain;
  }

  private forgetEverywhere(userId: number): void {
    for (const st of this.states.values()) st.engine.forget(userId, null);
  }

  private drop(shard: number): void {
    this.states.delete(shard);
    this.dirty.delete(shard);
  }

  /** The shard's engine, (re)built from the database when this node holds the shard at a new epoch. */
  private async stateFor(shard: number): Promise<ShardState | null> {
    const epoch = this.o.shards.epochOf(shard);
    if (epoch === null) {
      this.drop(shard);
      return null;
    }
    let st = this.states.get(shard);
    if (!st || st.epoch !== epoch) {
      const engine = new PgEngine(this.o.config, this.o.log, shard);
      st = { shard, epoch, engine, ready: Promise.resolve(), snapshotSeq: 0 };
      const made = st;
      st.ready = this.restore(made);
      this.states.set(shard, st);
    }
    try {
      await st.ready;
    } catch (err) {
      if (this.states.get(shard) === st) this.states.delete(shard);
      throw err;
    }
    return this.states.get(shard) === st ? st : null;
  }

  /**
   * Taking a shard: its newest snapshot (or, after `ferry move-to-postgres`, the whole-database
   * one, its courses only), then every transition of its courses recorded after it, in seq order —
   * the Q-tables the previous owner had after its last commit.
   */
  private async restore(st: ShardState): Promise<void> {
    const q = st.engine.q;
    const rc = this.o.config().recommender;
    q.alpha = rc.alpha;
    q.gamma = rc.gamma;
    q.reset();
    let [snap] = await this.sql<{ last_seq: number; data: string }[]>`SELECT last_seq, data FROM qtable_snapshots WHERE shard = ${st.shard} ORDER BY id DESC LIMIT 1`;
    if (snap) st.snapshotSeq = snap.last_seq;
    else [snap] = await this.sql<{ last_seq: number; data: string }[]>`SELECT last_seq, data FROM qtable_snapshots WHERE shard IS NULL ORDER BY id DESC LIMIT 1`;
    if (snap) {
      const data = JSON.parse(snap.data) as QSnapshotData;
      for (const c of Object.keys(data.courses)) if (this.shardOf(Number(c)) !== st.shard) delete data.courses[c];
      q.load(data, snap.last_seq);
    }
    const from = q.lastSeq;
    let top = from;
    let replayed = 0;
    // Every course with a transition has activities (a transition is always on one), so this
    // small table names the shard's courses; their history is read by (course_id, seq).
    const courses = (await this.sql<{ course_id: number }[]>`SELECT DISTINCT course_id FROM course_activities`).map((r) => r.course_id).filter((c) => this.shardOf(c) === st.shard);
    const cursor = this.sql<{ seq: number; course_id: number; state: string; action: number | null; reward: number; next_state: string }[]>`
      SELECT seq, course_id, state, action, reward, next_state FROM state_history WHERE course_id = ANY(${this.sql.array(courses, 20)}::bigint[]) AND seq > ${from} ORDER BY seq`.cursor(2000);
    for await (const rows of cursor) {
      for (const r of rows) {
        if (r.seq > top) top = r.seq;
        if (r.action === null) continue;
        q.apply({ course: r.course_id, s: r.state.split("|").map(Number), a: r.action, r: r.reward, s2: r.next_state.split("|").map(Number) }, r.seq);
        replayed++;
      }
    }
    if (top > q.lastSeq) q.lastSeq = top;
    this.restores.push({ shard: st.shard, epoch: st.epoch, snapshotSeq: from, replayed });
    if (from || replayed) this.o.log.info({ shard: st.shard, epoch: st.epoch, snapshotSeq: from, replayed }, "shard taken: Q-tables restored from snapshot and replayed");
  }

  private async drainShard(shard: number): Promise<void> {
    const size = this.o.config().recommender.batch_size;
    for (;;) {
      if (this.stopped) return;
      const st = await this.stateFor(shard).catch((err) => {
        this.o.log.warn({ err, shard }, "loading the shard's recommender state failed; retried at the next poll");
        return null;
      });
      if (!st) return;
      const n = await this.processBatch(st, size);
      if (n < size) break;
    }
    await this.doRebuilds(shard);
  }

  /**
   * Rebuilds asked of this shard by any node (rebuilds-pg.ts), after the shard's pending events so
   * the answers reflect them; each in its own fenced transaction that records the outcome. A
   * request left by a dead owner is done here by its successor (a takeover drains the shard).
   */
  private async doRebuilds(shard: number): Promise<void> {
    let todo: RebuildRequest[];
    try {
      todo = (await pendingRebuilds(this.sql)).filter((r) => this.shardOf(r.course_id) === shard);
    } catch (err) {
      this.o.log.warn({ err, shard }, "reading rebuild requests failed; retried at the next poll");
      return;
    }
    for (const r of todo) {
      if (this.stopped) return;
      const st = await this.stateFor(shard).catch(() => null);
      if (!st) return;
      const { driver, shards, clock } = this.o;
      const item = { ...(r.user_id !== null ? { user_id: r.user_id } : {}), ...(r.module_id !== null ? { module_id: r.module_id } : {}) };
      try {
        await this.sql.begin(async (tx) => {
          const now = clock.now();
          await driver.checkShard(tx, st.shard, shards.nodeId, st.epoch, now);
          if (!(await claimRebuild(tx as PgTx, r.id))) return;
          const n = await st.engine.rebuildPg(tx as PgTx, [r.course_id], item, now);
          await finishRebuild(tx as PgTx, driver, r.id, n, now);
        });
      } catch (err) {
        this.drop(st.shard);
        if (err instanceof FencedError) this.fenced++;
        this.o.log.warn({ err, shard, rebuild: r.id }, "rebuild request not done; retried at the next poll");
        return;
      }
    }
  }

  /**
   * Pending events' courses that belong to `shard`. A skip scan of the pending index (one probe
   * per course) rather than DISTINCT, which reads every pending row: under a backlog of 100k
   * logs that read cost more than the batch it chose.
   */
  private async pendingCourses(shard: number): Promise<number[]> {
    const rows = await this.sql<{ courseid: number }[]>`
      WITH RECURSIVE c AS (
        (SELECT courseid FROM log_events WHERE processed = 0 ORDER BY courseid LIMIT 1)
        UNION ALL
        SELECT (SELECT e.courseid FROM log_events e WHERE e.processed = 0 AND e.courseid > c.courseid ORDER BY e.courseid LIMIT 1) FROM c WHERE c.courseid IS NOT NULL
      ) SELECT courseid FROM c WHERE courseid IS NOT NULL`;
    return rows.map((r) => r.courseid).filter((c) => this.shardOf(c) === shard);
  }

  /** One batch of the shard's pending events in one fenced transaction; returns how many. */
  private async processBatch(st: ShardState, size: number): Promise<number> {
    const courses = await this.pendingCourses(st.shard);
    if (!courses.length) return 0;
    const { driver, shards, clock } = this.o;
    let erased: number[] = [];
    try {
      const n = await this.sql.begin(async (tx) => {
        const now = clock.now();
        await driver.checkShard(tx, st.shard, shards.nodeId, st.epoch, now);
        // Claimed and marked processed in one statement (RETURNING has no order: sorted here as the
        // subquery chose them, by course, time, id).
        const rows = [
          ...(await tx<EventRow[]>`UPDATE log_events SET processed = 1 WHERE id IN (
            SELECT id FROM log_events WHERE processed = 0 AND courseid = ANY(${tx.array(courses, 20)}::bigint[]) ORDER BY courseid, timecreated, id LIMIT ${size} FOR UPDATE)
          RETURNING id, userid, relateduserid, courseid, eventname, component, objectid, edulevel, contextinstanceid, contextlevel, timecreated, other, enrich`),
        ].sort((a, b) => a.courseid - b.courseid || a.timecreated - b.timecreated || a.id - b.id);
        if (!rows.length) return 0;
        const result = await st.engine.process(tx as PgTx, rows, now);
        // Erased users (\core\event\user_deleted) leave every node's memory, not only this shard's.
        for (const u of result.erased) await tx`SELECT pg_notify(${driver.channel}, ${JSON.stringify({ n: shards.nodeId, k: [erasedKind(u)] })})`;
        erased = result.erased;
        return rows.length;
      });
      for (const u of erased) this.forgetEverywhere(u);
      this.processed += n;
      if (n) this.lastRefreshAt = Date.now();
      return n;
    } catch (err) {
      // Memory may hold part of the batch: this engine goes, the next batch rebuilds it.
      this.drop(st.shard);
      if (err instanceof FencedError) {
        this.fenced++;
        this.o.log.warn({ shard: st.shard, epoch: st.epoch }, "recommender batch refused: this node no longer holds the shard's lease; its state is dropped");
      } else {
        this.o.log.warn({ err, shard: st.shard }, "recommender batch failed and rolled back; the shard's state is rebuilt before the next batch");
      }
      return 0;
    }
  }

  /** Signals every owned shard with pending events or rebuild requests (lost notifications, work left by a dead owner). */
  async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      const rows = await this.sql<{ courseid: number; n: number }[]>`SELECT courseid, count(*)::int AS n FROM log_events WHERE processed = 0 GROUP BY courseid`;
      this.pending = rows.reduce((a, r) => a + r.n, 0);
      const rebuilds = await pendingRebuilds(this.sql);
      for (const s of new Set([...rows.map((r) => this.shardOf(r.courseid)), ...rebuilds.map((r) => this.shardOf(r.course_id))])) this.signal(s);
    } catch (err) {
      this.o.log.debug({ err }, "recommender poll failed");
    }
  }

  /** Writes a snapshot of every owned shard whose Q-tables moved since its last one (each fenced). */
  snapshot(): Promise<number> {
    return this.serial(async () => {
      let n = 0;
      for (const st of [...this.states.values()]) if (await this.snapshotShard(st)) n++;
      return n;
    });
  }

  private async snapshotShard(st: ShardState): Promise<boolean> {
    const q = st.engine.q;
    if (q.lastSeq <= st.snapshotSeq || (q.lastSeq === 0 && q.courses.size === 0)) return false;
    const { driver, shards, clock } = this.o;
    const keep = this.o.config().recommender.snapshots_kept;
    const lastSeq = q.lastSeq;
    const data = JSON.stringify(q.toJSON());
    try {
      await this.sql.begin(async (tx) => {
        const now = clock.now();
        await driver.checkShard(tx, st.shard, shards.nodeId, st.epoch, now);
        await tx`INSERT INTO qtable_snapshots (last_seq, created_at, data, shard) VALUES (${lastSeq}, ${now}, ${data}, ${st.shard})`;
        await tx`DELETE FROM qtable_snapshots WHERE shard = ${st.shard} AND id NOT IN (SELECT id FROM qtable_snapshots WHERE shard = ${st.shard} ORDER BY id DESC LIMIT ${keep})`;
      });
      st.snapshotSeq = lastSeq;
      return true;
    } catch (err) {
      if (err instanceof FencedError) {
        this.fenced++;
        this.drop(st.shard);
      }
      this.o.log.warn({ err, shard: st.shard }, "recommender snapshot not written");
      return false;
    }
  }

  /** The shard engine of a course this node owns (live Q-table views, rebuilds), or null. */
  async engineOf(courseId: number): Promise<PgEngine | null> {
    const st = await this.stateFor(this.shardOf(courseId));
    return st?.engine ?? null;
  }

  /** The engines of every owned shard (loaded when needed). */
  async ownedEngines(): Promise<PgEngine[]> {
    const out: PgEngine[] = [];
    for (const s of this.o.shards.ownedShards()) {
      const st = await this.stateFor(s).catch(() => null);
      if (st) out.push(st.engine);
    }
    return out;
  }

  /** Stored answers recomputed for a course this node owns (jobs API), fenced like a batch. */
  rebuild(courseId: number, item: { user_id?: number; module_id?: number }): Promise<number | null> {
    return this.serial(async () => {
      const st = await this.stateFor(this.shardOf(courseId));
      if (!st) return null;
      const { driver, shards, clock } = this.o;
      try {
        return await this.sql.begin(async (tx) => {
          await driver.checkShard(tx, st.shard, shards.nodeId, st.epoch, clock.now());
          return st.engine.rebuildPg(tx as PgTx, [courseId], item, Date.now());
        });
      } catch (err) {
        this.drop(st.shard);
        throw err;
      }
    });
  }

  /** Before the leases are handed over: the last batches and a snapshot of each owned shard. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.idle();
      await this.snapshot();
      this.stopped = true;
      this.states.clear();
    })();
    return this.stopping;
  }
}
