import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import type { Activity, Course } from "./course";
import { stateKey, type StateTuple, type Transition } from "./qtable";
import type { MoveStat } from "./ranking";
import { learnerToJson, type Learner } from "./state";

// What one pipeline batch changed (computed in memory first), and writing it to SQLite after.

interface GradeItemRow {
  itemId: number;
  courseId: number | null;
  cmid: number | null;
  itemtype: string | null;
  grademax: number | null;
}

interface HistoryRow {
  eventId: number;
  user: number;
  module: number;
  time: number;
  tr: Transition;
  /** stateKey of tr.s / tr.s2, filled in once when the batch is persisted. */
  k: string;
  k2: string;
}

export class Batch {
  learners = new Set<Learner>();
  states = new Map<Learner, Set<number>>();
  activities = new Set<Activity>();
  items = new Set<GradeItemRow>();
  history: HistoryRow[] = [];
  /** Changed move stats (each stat object is one course × from × to). */
  moves = new Map<MoveStat, [number, number, number]>();
  rankers = new Set<Course>();
  /** Courses whose ranking inputs (moves, uses, weights) this batch changed. */
  courses = new Set<Course>();

  /** Users whose erasure this batch asks for (\core\event\user_deleted). */
  erased = new Set<number>();
  /** [user, course] enrolments that ended (\core\event\user_enrolment_deleted). */
  unenrolled: Array<[number, number]> = [];
  /** [user, course]: users who became staff there (their learner records go). */
  becameStaff: Array<[number, number]> = [];

  touch(l: Learner, m: number | null): void {
    this.learners.add(l);
    let s = this.states.get(l);
    if (!s) this.states.set(l, (s = new Set()));
    if (m !== null) s.add(m);
  }

  transition(l: Learner, p: number, m: number, row: { id: number; timecreated: number }, tr: Transition): void {
    this.touch(l, m);
    if (p !== m) this.states.get(l)!.add(p);
    this.history.push({ eventId: row.id, user: l.userId, module: m, time: row.timecreated, tr, k: "", k2: "" });
  }

  moveChanged(c: Course, from: number, to: number, st: MoveStat): void {
    if (!this.moves.has(st)) this.moves.set(st, [c.id, from, to]);
  }
}

const INSERT_HIST = "INSERT INTO state_history (event_id, user_id, course_id, module_id, state, action, reward, next_state, event_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
/** Multi-row statement sizes: imports take 200 rows a statement, live batches the smaller ones. */
const HIST_TIERS = [200, 25, 5] as const;
const multiHist = (k: number) => INSERT_HIST.replace(/VALUES \(([^)]*)\)/, (_, one: string) => "VALUES " + Array.from({ length: k }, () => `(${one})`).join(", "));

export interface Persisted {
  /** Transitions with an action, with their seq and state keys, in seq order (the Q updates to apply). */
  transitions: Array<[Transition, number, string, string]>;
  /** The highest seq stored (transitions without an action included). */
  lastSeq: number;
}

/** Writes the batch: learners, states, activities, grade items, moves, rankers, then transitions (seq order = Q order). */
export function persistBatch(db: Db, batch: Batch, stateOf: (l: Learner, m: number) => StateTuple, moduleSize: (l: Learner, m: number) => number, now: number): Persisted {
  const upLearner = prepared(db, "INSERT INTO learners (user_id, course_id, current_module, data, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, course_id) DO UPDATE SET current_module = excluded.current_module, data = excluded.data, updated_at = excluded.updated_at");
  for (const l of batch.learners) upLearner.run(l.userId, l.courseId, l.cur, learnerToJson(l), now);
  const upState = prepared(
    db,
    `INSERT INTO user_states (user_id, course_id, module_id, level, module_idx, progress, score, phase, engagement, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, course_id, module_id) DO UPDATE SET level = excluded.level, module_idx = excluded.module_idx, progress = excluded.progress, score = excluded.score,
       phase = excluded.phase, engagement = excluded.engagement, data = excluded.data, updated_at = excluded.updated_at`,
  );
  for (const [l, mods] of batch.states) {
    for (const m of mods) {
      const s = stateOf(l, m);
      upState.run(l.userId, l.courseId, m, s[0], s[1], s[2], s[3], s[4], s[5], `{"activities":${moduleSize(l, m)}}`, now);
    }
  }
  const upAct = prepared(
    db,
    `INSERT INTO course_activities (cmid, course_id, section_id, modname, name, position, in_structure, uses) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (cmid) DO UPDATE SET section_id = excluded.section_id, modname = excluded.modname, name = excluded.name, uses = excluded.uses`,
  );
  for (const a of batch.activities) upAct.run(a.cmid, a.courseId, a.sectionId, a.modname, a.name, a.position, a.inStructure ? 1 : 0, a.uses);
  const upItem = prepared(db, "INSERT INTO grade_items (item_id, course_id, cmid, itemtype, grademax) VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET course_id = excluded.course_id, cmid = excluded.cmid, itemtype = excluded.itemtype, grademax = excluded.grademax");
  for (const g of batch.items) upItem.run(g.itemId, g.courseId, g.cmid, g.itemtype, g.grademax);
  const upMove = prepared(
    db,
    "INSERT INTO activity_moves (course_id, from_cmid, to_cmid, n, rn, rt, ret, gsum, gn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (course_id, from_cmid, to_cmid) DO UPDATE SET n = excluded.n, rn = excluded.rn, rt = excluded.rt, ret = excluded.ret, gsum = excluded.gsum, gn = excluded.gn",
  );
  for (const [st, [course, from, to]] of batch.moves) upMove.run(course, from, to, st.n, st.rn, st.rt, st.ret, st.gsum, st.gn);
  const upRanker = prepared(db, "INSERT INTO course_rankers (course_id, weights, judged, moves) VALUES (?, ?, ?, ?) ON CONFLICT (course_id) DO UPDATE SET weights = excluded.weights, judged = excluded.judged, moves = excluded.moves");
  for (const c of batch.rankers) upRanker.run(c.id, JSON.stringify(c.weights), c.judged, c.movesSeen);
  return persistHistory(db, batch.history);
}

function persistHistory(db: Db, hist: HistoryRow[]): Persisted {
  const out: Persisted = { transitions: [], lastSeq: 0 };
  // Each state key is built once: for state_history and for the Q update.
  for (const h of hist) {
    h.k = stateKey(h.tr.s);
    h.k2 = stateKey(h.tr.s2);
  }
  const record = (h: HistoryRow, seq: number) => {
    if (h.tr.a >= 0) out.transitions.push([h.tr, seq, h.k, h.k2]);
    if (seq > out.lastSeq) out.lastSeq = seq;
  };
  let i = 0;
  // k rows per statement: the rows of one INSERT get consecutive seqs in VALUES order (no other
  // writer inside our transaction), so the last insert rowid names them all — the same seqs the
  // row-by-row loop would assign.
  for (const k of HIST_TIERS) {
    if (hist.length - i < k) continue;
    const multi = prepared(db, multiHist(k));
    const params: unknown[] = new Array(k * 9);
    for (; i + k <= hist.length; i += k) {
      for (let j = 0; j < k; j++) {
        const h = hist[i + j]!;
        const o = j * 9;
        params[o] = h.eventId; params[o + 1] = h.user; params[o + 2] = h.tr.course; params[o + 3] = h.module; params[o + 4] = h.k;
        params[o + 5] = h.tr.a < 0 ? null : h.tr.a; params[o + 6] = h.tr.r; params[o + 7] = h.k2; params[o + 8] = h.time;
      }
      const last = Number(multi.run(...params).lastInsertRowid);
      for (let j = 0; j < k; j++) record(hist[i + j]!, last - k + 1 + j);
    }
  }
  const insHist = prepared(db, INSERT_HIST);
  for (; i < hist.length; i++) {
    const h = hist[i]!;
    record(h, Number(insHist.run(h.eventId, h.user, h.tr.course, h.module, h.k, h.tr.a < 0 ? null : h.tr.a, h.tr.r, h.k2, h.time).lastInsertRowid));
  }
  return out;
}
