import type { PgTx } from "../../store/postgres/client";
import type { RecSink } from "./sink";
import type { Batch, Persisted } from "./persist";
import { stateKey, type StateTuple } from "./qtable";
import { learnerToJson, type Learner } from "./state";

// One pipeline batch's writes on PostgreSQL. The engine walks the events in memory (as on
// SQLite); everything it would have written at once is collected here, with the values as they
// were at that moment, and run in order inside the shard owner's fenced transaction: the
// event-time writes (sections, staff, re-enrolments), the batch (persistBatchPg: the same rows
// persist.ts writes on SQLite), then erasure / staff / unenrolment, then the stored answers.

type Row = Record<string, unknown>;
// PostgreSQL takes at most 65535 bind parameters per statement.
const CHUNK = 4000;

export class PgOps implements RecSink {
  sections: Row[] = [];
  staff: Row[] = [];
  reEnrolled: Array<[number, number]> = [];
  learners: Row[] = [];
  states: Row[] = [];
  activities: Row[] = [];
  items: Row[] = [];
  moves: Row[] = [];
  rankers: Row[] = [];
  history: Row[] = [];
  /**
   * Erasure, staff and unenrolment, in the order the engine asked for them. Each returns its
   * statements unawaited: they are sent pipelined, and one connection runs them in that order.
   */
  after: Array<(tx: PgTx) => Array<Promise<unknown>>> = [];
  recs = new Map<string, Row>();

  erase(userId: number): void {
    this.after.push((tx) => [
      tx`DELETE FROM learners WHERE user_id = ${userId}`,
      tx`DELETE FROM user_states WHERE user_id = ${userId}`,
      tx`DELETE FROM recommendations WHERE user_id = ${userId}`,
      tx`UPDATE state_history SET user_id = 0, event_id = 0, event_time = 0 WHERE user_id = ${userId}`,
      tx`DELETE FROM course_unenrolled WHERE user_id = ${userId}`,
      tx`DELETE FROM course_staff WHERE user_id = ${userId}`,
      tx`DELETE FROM log_events WHERE userid = ${userId} OR relateduserid = ${userId}`,
    ]);
  }

  moveCount(courseId: number, from: number, to: number, n: number): void {
    this.after.push((tx) => [tx`UPDATE activity_moves SET n = ${n} WHERE course_id = ${courseId} AND from_cmid = ${from} AND to_cmid = ${to}`]);
  }

  dropLearner(userId: number, courseId: number): void {
    this.after.push((tx) => [
      tx`DELETE FROM learners WHERE user_id = ${userId} AND course_id = ${courseId}`,
      tx`DELETE FROM user_states WHERE user_id = ${userId} AND course_id = ${courseId}`,
      tx`DELETE FROM recommendations WHERE user_id = ${userId} AND course_id = ${courseId}`,
    ]);
  }

  endEnrolment(userId: number, courseId: number): void {
    this.after.push((tx) => [
      tx`INSERT INTO course_unenrolled (course_id, user_id) VALUES (${courseId}, ${userId}) ON CONFLICT DO NOTHING`,
      tx`DELETE FROM recommendations WHERE user_id = ${userId} AND course_id = ${courseId}`,
    ]);
  }

  recommendation(userId: number, courseId: number, moduleId: number, body: string, full: string, k: number, now: number): void {
    this.recs.set(`${userId}:${moduleId}:${courseId}`, { user_id: userId, course_id: courseId, module_id: moduleId, body, full, k, generated_at: now });
  }

  /**
   * Runs everything collected, in order, inside `tx`: every statement is sent at once (porsager
   * pipelines a transaction's unawaited queries on its one connection, which runs them in the
   * order sent), then awaited together — one round trip instead of one per statement.
   */
  async run(tx: PgTx): Promise<void> {
    const sent: Array<Promise<unknown>> = [];
    const each = (rows: Row[], insert: (rows: Row[]) => Promise<unknown>) => {
      for (let i = 0; i < rows.length; i += CHUNK) sent.push(insert(rows.slice(i, i + CHUNK)));
    };
    each(this.sections, (rows) => tx`INSERT INTO course_sections ${tx(rows, "course_id", "section_id", "position", "name")} ON CONFLICT DO NOTHING`);
    for (const [c, u] of this.reEnrolled) sent.push(tx`DELETE FROM course_unenrolled WHERE course_id = ${c} AND user_id = ${u}`);
    each(this.staff, (rows) => tx`INSERT INTO course_staff ${tx(rows, "course_id", "user_id")} ON CONFLICT DO NOTHING`);
    each(this.learners, (rows) => tx`INSERT INTO learners ${tx(rows, "user_id", "course_id", "current_module", "data", "updated_at")}
      ON CONFLICT (user_id, course_id) DO UPDATE SET current_module = excluded.current_module, data = excluded.data, updated_at = excluded.updated_at`);
    each(this.states, (rows) => tx`INSERT INTO user_states ${tx(rows, "user_id", "course_id", "module_id", "level", "module_idx", "progress", "score", "phase", "engagement", "data", "updated_at")}
      ON CONFLICT (user_id, course_id, module_id) DO UPDATE SET level = excluded.level, module_idx = excluded.module_idx, progress = excluded.progress, score = excluded.score,
        phase = excluded.phase, engagement = excluded.engagement, data = excluded.data, updated_at = excluded.updated_at`);
    each(this.activities, (rows) => tx`INSERT INTO course_activities ${tx(rows, "cmid", "course_id", "section_id", "modname", "name", "position", "in_structure", "uses")}
      ON CONFLICT (cmid) DO UPDATE SET section_id = excluded.section_id, modname = excluded.modname, name = excluded.name, uses = excluded.uses`);
    each(this.items, (rows) => tx`INSERT INTO grade_items ${tx(rows, "item_id", "course_id", "cmid", "itemtype", "grademax")}
      ON CONFLICT (item_id) DO UPDATE SET course_id = excluded.course_id, cmid = excluded.cmid, itemtype = excluded.itemtype, grademax = excluded.grademax`);
    each(this.moves, (rows) => tx`INSERT INTO activity_moves ${tx(rows, "course_id", "from_cmid", "to_cmid", "n", "rn", "rt", "ret", "gsum", "gn")}
      ON CONFLICT (course_id, from_cmid, to_cmid) DO UPDATE SET n = excluded.n, rn = excluded.rn, rt = excluded.rt, ret = excluded.ret, gsum = excluded.gsum, gn = excluded.gn`);
    each(this.rankers, (rows) => tx`INSERT INTO course_rankers ${tx(rows, "course_id", "weights", "judged", "moves")}
      ON CONFLICT (course_id) DO UPDATE SET weights = excluded.weights, judged = excluded.judged, moves = excluded.moves`);
    each(this.history, (rows) => tx`INSERT INTO state_history ${tx(rows, "seq", "event_id", "user_id", "course_id", "module_id", "state", "action", "reward", "next_state", "event_time")}`);
    for (const op of this.after) sent.push(...op(tx));
    each([...this.recs.values()], (rows) => tx`INSERT INTO recommendations ${tx(rows, "user_id", "course_id", "module_id", "body", "full", "k", "generated_at")}
      ON CONFLICT (user_id, module_id, course_id) DO UPDATE SET body = excluded.body, "full" = excluded."full", k = excluded.k, generated_at = excluded.generated_at`);
    await Promise.all(sent);
  }
}

/** `n` state_history seqs from its identity, ascending (taken inside the owner's transaction). */
export async function takeSeqs(tx: PgTx, n: number): Promise<number[]> {
  if (n === 0) return [];
  const rows = await tx<{ s: number }[]>`SELECT nextval(pg_get_serial_sequence('state_history', 'seq')) AS s FROM generate_series(1, ${n})`;
  return rows.map((r) => r.s).sort((a, b) => a - b);
}

/** persistBatch() of persist.ts for PostgreSQL: the same rows, collected into `ops`; history takes `seqs` in order. */
export function persistBatchPg(ops: PgOps, batch: Batch, stateOf: (l: Learner, m: number) => StateTuple, moduleSize: (l: Learner, m: number) => number, now: number, seqs: number[]): Persisted {
  for (const l of batch.learners) ops.learners.push({ user_id: l.userId, course_id: l.courseId, current_module: l.cur, data: learnerToJson(l), updated_at: now });
  for (const [l, mods] of batch.states) {
    for (const m of mods) {
      const s = stateOf(l, m);
      ops.states.push({ user_id: l.userId, course_id: l.courseId, module_id: m, level: s[0], module_idx: s[1], progress: s[2], score: s[3], phase: s[4], engagement: s[5], data: `{"activities":${moduleSize(l, m)}}`, updated_at: now });
    }
  }
  for (const a of batch.activities) ops.activities.push({ cmid: a.cmid, course_id: a.courseId, section_id: a.sectionId, modname: a.modname, name: a.name, position: a.position, in_structure: a.inStructure ? 1 : 0, uses: a.uses });
  for (const g of batch.items) ops.items.push({ item_id: g.itemId, course_id: g.courseId, cmid: g.cmid, itemtype: g.itemtype, grademax: g.grademax });
  for (const [st, [course, from, to]] of batch.moves) ops.moves.push({ course_id: course, from_cmid: from, to_cmid: to, n: st.n, rn: st.rn, rt: st.rt, ret: st.ret, gsum: st.gsum, gn: st.gn });
  for (const c of batch.rankers) ops.rankers.push({ course_id: c.id, weights: JSON.stringify(c.weights), judged: c.judged, moves: c.movesSeen });
  const out: Persisted = { transitions: [], lastSeq: 0 };
  batch.history.forEach((h, i) => {
    h.k = stateKey(h.tr.s);
    h.k2 = stateKey(h.tr.s2);
    const seq = seqs[i]!;
    ops.history.push({ seq, event_id: h.eventId, user_id: h.user, course_id: h.tr.course, module_id: h.module, state: h.k, action: h.tr.a < 0 ? null : h.tr.a, reward: h.tr.r, next_state: h.k2, event_time: h.time });
    if (h.tr.a >= 0) out.transitions.push([h.tr, seq, h.k, h.k2]);
    if (seq > out.lastSeq) out.lastSeq = seq;
  });
  return out;
}
