import type { Logger } from "pino";
import type { Config } from "../../config/schema";
import type { Store } from "../../store/db";
import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import { actionIndex, actionTypeOf } from "./actions";
import { buildAnswer, bodyJson, type RecommendationBody } from "./answer";
import { classify, LEARNING, type EventClass } from "./classify";
import { activitiesChanged, activitiesIn, hasStructure, loadCourse, moduleIdx, moduleOf, moveStat, movesFrom, recommendable, type Activity, type Course } from "./course";
import { clip, completionReward, creditMoves, gradeReward, normaliseGrade, pushTrace } from "./learning";
import { QTables, stateKey, type StateTuple, type Transition } from "./qtable";
import { loadQTables, writeSnapshot } from "./snapshots";
import { EXPERTS, hedgeUpdate, moveLosses, rank, recordMove, type MoveStat } from "./ranking";
import { Batch, persistBatch, type Persisted } from "./persist";
import { sqliteSink, type RecSink } from "./sink";
import { CLASS_CODES, countMove, learnerFromJson, moduleState, newLearner, pushRecent, type Learner } from "./state";

// The pipeline: classify → learner state → moves and transitions → learning → stored answers.
// One engine per database; the daemon's queue job, `ferry import` and `ferry evaluate` all call
// processEvents() with rows of log_events, so live and historical data take the same path.
// Each batch is computed in memory first and persisted after (persist.ts), in one transaction.

export type { Activity, Course } from "./course";
export type { Recommendation, RecommendationBody } from "./answer";
export { bodyJson } from "./answer";

export interface EventRow {
  id: number;
  userid: number;
  relateduserid: number | null;
  courseid: number;
  eventname: string;
  component: string | null;
  objectid: number | null;
  edulevel: number | null;
  contextinstanceid: number | null;
  contextlevel: number | null;
  timecreated: number;
  other: string | null;
  enrich: string | null;
}

export interface GradeItem {
  itemId: number;
  courseId: number | null;
  cmid: number | null;
  itemtype: string | null;
  grademax: number | null;
}

const STORED_RECS = 10;
/**
 * Events by which one user manages another in a course (roles, enrolments, grading): their actor
 * is staff. Not every event naming another user: students view each other's profiles and message
 * each other.
 */
const ACTS_ON_OTHERS = new Set([
  "core:role_assigned", "core:role_unassigned", "core:user_enrolment_created", "core:user_enrolment_updated", "core:user_enrolment_deleted",
  "core:user_graded", "core:grade_deleted", "mod_assign:submission_graded", "mod_assign:extension_granted", "mod_quiz:attempt_regraded", "mod_quiz:attempt_manual_grading_completed",
]);
const shortName = (eventname: string): string => {
  const m = /^\\?([a-z0-9_]+)\\event\\([a-z0-9_]+)$/i.exec(eventname);
  return m ? `${m[1]!.toLowerCase()}:${m[2]!.toLowerCase()}` : "";
};
/** Moves judged one by one before the ranking weights are judged on every JUDGE_STRIDE-th move. */
const JUDGE_ALL = 2000;
const JUDGE_STRIDE = 4;


export interface ProcessResult {
  processed: number;
  transitions: number;
  refreshed: number;
  /** Learners (and their modules) this call changed: what a deferred refresh must cover. */
  touched: Map<Learner, Set<number>>;
}

export class Engine {
  readonly q: QTables;
  protected courses = new Map<number, Course>();
  protected learners = new Map<string, Learner>();
  protected gradeItems = new Map<number, GradeItem>();
  protected mappedCmids = new Set<number>();
  protected loaded = false;
  /** When the engine last stored a recommendation row (for metrics and tests). */
  lastRefreshAt = 0;
  /** Called inside the writing transaction whenever a learner's stored row changes (the GET cache drops it). */
  onStored: ((userId: number, courseId: number, moduleId: number) => void) | null = null;
  /** Called inside the writing transaction when a learner's answers end (erasure, unenrolment); courseId null = all courses. */
  onErased: ((userId: number, courseId: number | null) => void) | null = null;

  constructor(
    private store: Store,
    private config: () => Config,
    private log: Logger,
  ) {
    const rc = config().recommender;
    this.q = new QTables(rc.alpha, rc.gamma);
  }

  get db(): Db {
    return this.store.db;
  }

  // ---------------------------------------------------------------- start-up, snapshots, replay

  /** Loads the newest Q snapshot and replays the transitions recorded after it. */
  load(): { snapshotSeq: number; replayed: number } {
    const rc = this.config().recommender;
    const out = loadQTables(this.db, this.q, rc.alpha, rc.gamma);
    this.gradeItems.clear();
    this.mappedCmids.clear();
    for (const g of prepared<[], { item_id: number; course_id: number | null; cmid: number | null; itemtype: string | null; grademax: number | null }>(this.db, "SELECT * FROM grade_items").all()) {
      this.gradeItems.set(g.item_id, { itemId: g.item_id, courseId: g.course_id, cmid: g.cmid, itemtype: g.itemtype, grademax: g.grademax });
      if (g.cmid !== null) this.mappedCmids.add(g.cmid);
    }
    this.loaded = true;
    return out;
  }

  /** Forgets cached rows (after a failed transaction or a structure change) and reloads the Q-tables. */
  resetCaches(reloadQ: boolean): void {
    this.courses.clear();
    this.learners.clear();
    if (reloadQ) this.load();
  }

  invalidateCourse(courseId: number): void {
    this.courses.delete(courseId);
  }

  /** Writes the Q-tables with the seq of the last transition they include; skips when nothing changed. Run inside a write. */
  snapshot(db: Db, now: number): { written: boolean; lastSeq: number } {
    return writeSnapshot(db, this.q, now, this.config().recommender.snapshots_kept);
  }

  // ---------------------------------------------------------------- course model and learners

  course(id: number): Course {
    let c = this.courses.get(id);
    if (!c) this.courses.set(id, (c = this.loadCourseModel(id)));
    return c;
  }

  // What the pipeline reads and writes while it walks a batch's events (PgEngine, engine-pg.ts,
  // serves them from memory and collects the writes for its PostgreSQL transaction).
  protected loadCourseModel(id: number): Course {
    return loadCourse(this.db, id);
  }

  protected learnerData(u: number, courseId: number): string | undefined {
    return prepared<[number, number], { data: string }>(this.db, "SELECT data FROM learners WHERE user_id = ? AND course_id = ?").get(u, courseId)?.data;
  }

  /** Whether a structure was posted for the course (activities learned from events are then outside it). */
  protected structurePosted(courseId: number): boolean {
    return !!prepared<[number], number>(this.db, "SELECT count(*) FROM course_structures WHERE course_id = ?").pluck().get(courseId);
  }

  protected saveEventSection(courseId: number, sectionId: number, position: number): void {
    prepared(this.db, "INSERT OR IGNORE INTO course_sections (course_id, section_id, position, name) VALUES (?, ?, ?, NULL)").run(courseId, sectionId, position);
  }

  protected saveReEnrolled(courseId: number, userId: number): void {
    prepared(this.db, "DELETE FROM course_unenrolled WHERE course_id = ? AND user_id = ?").run(courseId, userId);
  }

  protected saveStaff(courseId: number, userId: number): void {
    prepared(this.db, "INSERT OR IGNORE INTO course_staff (course_id, user_id) VALUES (?, ?)").run(courseId, userId);
  }

  hasStructure(c: Course): boolean {
    return hasStructure(c);
  }

  moduleOf(c: Course, a: Activity): number | null {
    return moduleOf(c, a);
  }

  activitiesIn(c: Course, m: number): Activity[] {
    return activitiesIn(c, m);
  }

  isStaff(c: Course, user: number): boolean {
    return c.staff.has(user) || this.config().moodle.staff_user_ids.includes(user);
  }

  /** Trained on and recommended to: a real user, not staff, enrolled. */
  isLearner(c: Course, user: number): boolean {
    return user > 0 && !this.isStaff(c, user) && !c.unenrolled.has(user);
  }

  learner(u: number, courseId: number): Learner {
    const key = `${u}:${courseId}`;
    let l = this.learners.get(key);
    if (l) return l;
    const data = this.learnerData(u, courseId);
    l = data !== undefined ? learnerFromJson(u, courseId, data) : newLearner(u, courseId);
    this.learners.set(key, l);
    return l;
  }

  /** Only reads (GET paths): no cache entry for unknown learners. */
  knownLearner(u: number, courseId: number): Learner | null {
    const l = this.learners.get(`${u}:${courseId}`);
    if (l) return l;
    const data = this.learnerData(u, courseId);
    return data !== undefined ? learnerFromJson(u, courseId, data) : null;
  }

  /** Drops a learner from memory (erasure). */
  forget(u: number, courseId: number | null): void {
    for (const key of [...this.learners.keys()]) if (key.startsWith(`${u}:`) && (courseId === null || key === `${u}:${courseId}`)) this.learners.delete(key);
  }

  stateOf(l: Learner, c: Course, m: number): StateTuple {
    return moduleState(l, c, m, this.config().recommender.level_thresholds);
  }

  // ---------------------------------------------------------------- the pipeline

  /** Processes pending log_events (per course, in event-time order) in one transaction; returns how many. */
  processPending(db: Db, limit: number): ProcessResult {
    // LIMIT is a literal (an integer from the config), not a bound parameter: with `LIMIT ?` the
    // partial-index query costs ~20 us more per run, a large share of a live one-event batch.
    const rows = prepared<[], EventRow>(
      db,
      `SELECT id, userid, relateduserid, courseid, eventname, component, objectid, edulevel, contextinstanceid, contextlevel, timecreated, other, enrich
         FROM log_events WHERE processed = 0 ORDER BY courseid, timecreated, id LIMIT ${Math.max(1, Math.trunc(limit))}`,
    ).all();
    if (rows.length === 0) return { processed: 0, transitions: 0, refreshed: 0, touched: new Map() };
    // The batch's bookkeeping in one statement. Nothing else writes inside this transaction, so
    // a batch smaller than the limit is every pending row.
    if (rows.length < limit) prepared(db, "UPDATE log_events SET processed = 1 WHERE processed = 0").run();
    else prepared(db, "UPDATE log_events SET processed = 1 WHERE id IN (SELECT value FROM json_each(?))").run(JSON.stringify(rows.map((r) => r.id)));
    return this.processEvents(db, rows);
  }

  /**
   * Runs events (already stored) through classification, state, learning and recommendation
   * refresh. Must run inside a transaction; on error the caller rolls back and calls resetCaches(true).
   */
  processEvents(db: Db, rows: EventRow[], opts: { refresh?: boolean; now?: number } = {}): ProcessResult {
    if (!this.loaded) this.load();
    const now = opts.now ?? Date.now();
    const batch = this.collect(rows);
    const applied = persistBatch(db, batch, (l, m) => this.stateOf(l, this.course(l.courseId), m), (l, m) => activitiesIn(this.course(l.courseId), m).length, now);
    return this.finish(sqliteSink(db), batch, applied, rows.length, opts, now);
  }

  /** Walks the events (classification, learner state, moves, transitions) in memory. */
  protected collect(rows: EventRow[]): Batch {
    const batch = new Batch();
    for (const row of rows) {
      if (batch.erased.size && (batch.erased.has(row.userid) || (row.relateduserid !== null && batch.erased.has(row.relateduserid)))) continue;
      this.processOne(row, batch);
    }
    return batch;
  }

  /** After the batch is persisted: the Q updates, erasure, staff and unenrolment, stored answers. */
  protected finish(sink: RecSink, batch: Batch, applied: Persisted, processed: number, opts: { refresh?: boolean }, now: number): ProcessResult {
    // Q updates after everything above (which can throw and roll back); this cannot.
    for (const [tr, seq, k, k2] of applied.transitions) this.q.apply(tr, seq, k, k2);
    if (applied.lastSeq > this.q.lastSeq) this.q.lastSeq = applied.lastSeq;
    // Erasure last: it removes what this batch stored of those learners too.
    for (const u of batch.erased) {
      sink.erase(u);
      this.forget(u, null);
      this.onErased?.(u, null);
    }
    for (const [u, courseId] of batch.becameStaff) {
      // Their moves leave the course's counts (what they taught the Q-tables stays: aggregates).
      const c = this.course(courseId);
      const l = this.knownLearner(u, courseId);
      if (l) {
        for (const [from, m] of l.moves) {
          for (const [to, n] of m) {
            const st = moveStat(c, from, to);
            st.n = Math.max(0, st.n - n);
            sink.moveCount(courseId, from, to, st.n);
          }
        }
      }
      sink.dropLearner(u, courseId);
      this.forget(u, courseId);
      this.onErased?.(u, courseId);
    }
    for (const [u, courseId] of batch.unenrolled) {
      sink.endEnrolment(u, courseId);
      this.onErased?.(u, courseId);
    }
    // Other learners' stored answers in these courses may now rank differently: reads check this.
    for (const c of batch.courses) c.version++;
    const touched = new Map<Learner, Set<number>>();
    for (const [l, mods] of batch.states) if (!batch.erased.has(l.userId) && this.isLearner(this.course(l.courseId), l.userId)) touched.set(l, mods);
    const refreshed = opts.refresh === false ? 0 : this.refreshInto(sink, touched, now);
    return { processed, transitions: batch.history.length, refreshed, touched };
  }

  /** Stores fresh recommendations for each learner's touched modules and current module. */
  refresh(db: Db, touched: Map<Learner, Set<number>>, now: number): number {
    return this.refreshInto(sqliteSink(db), touched, now);
  }

  protected refreshInto(sink: RecSink, touched: Map<Learner, Set<number>>, now: number): number {
    let n = 0;
    for (const [l, mods] of touched) {
      const targets = new Set(mods);
      if (l.cur !== null) targets.add(l.cur);
      for (const m of targets) {
        this.storeInto(sink, l, m, now);
        n++;
      }
    }
    return n;
  }

  private activityFor(c: Course, row: EventRow, batch: Batch, enrich: Record<string, any> | null): Activity | null {
    const moduleLevel = row.contextlevel === 70 || (row.contextlevel === null && (row.component?.startsWith("mod_") || row.eventname.includes("course_module_")));
    if (!moduleLevel || row.contextinstanceid === null || row.contextinstanceid <= 0) return null;
    const cmid = row.contextinstanceid;
    let a = c.activities.get(cmid);
    const modname = (enrich?.modname as string | undefined) ?? (row.component?.startsWith("mod_") ? row.component.slice(4) : null);
    if (!a) {
      a = { cmid, courseId: c.id, sectionId: null, modname, name: (enrich?.cmname as string | undefined) ?? null, position: 1_000_000 + cmid, inStructure: false, uses: 0 };
      c.activities.set(cmid, a);
      activitiesChanged(c);
      batch.activities.add(a);
    } else if (!a.modname && modname) {
      a.modname = modname;
      activitiesChanged(c);
      batch.activities.add(a);
    }
    // Enrichment: our plugin says which section the activity is in (structure learned from events).
    const sectionid = enrich?.sectionid as number | undefined;
    if (typeof sectionid === "number" && a.sectionId === null && !a.inStructure) {
      a.sectionId = sectionid;
      if (enrich?.cmname && !a.name) a.name = enrich.cmname;
      if (!c.sectionNames.has(sectionid)) {
        c.sections.push(sectionid);
        c.sectionNames.set(sectionid, null);
        this.saveEventSection(c.id, sectionid, 1000 + c.sections.length);
      }
      a.inStructure = !this.structurePosted(c.id);
      activitiesChanged(c);
      batch.activities.add(a);
    }
    return a;
  }

  protected processOne(row: EventRow, batch: Batch): void {
    const cls = classify(row.eventname);
    if (cls === "user_deleted") {
      // The deleted user: relateduserid, else the event's object (the user record).
      const u = row.relateduserid ?? row.objectid;
      if (u !== null && u > 0) batch.erased.add(u);
      return;
    }
    const c = this.course(row.courseid);
    if (row.userid > 0 && row.relateduserid !== null && row.relateduserid > 0 && row.relateduserid !== row.userid && !c.staff.has(row.userid) && ACTS_ON_OTHERS.has(shortName(row.eventname))) {
      this.staffEvent(c, row, batch);
    }
    if (cls === "enrolment_deleted" || cls === "enrolment_created") {
      this.enrolmentEvent(c, cls, row, batch);
      return;
    }
    if (cls === "role_assigned" || cls === "role_unassigned") return;
    const enrichText = row.enrich;
    // Where the learner is: any module-level event of theirs (also previews and views that do not
    // count as learning actions) is the "activity just done" for what comes next.
    if (row.contextlevel === 70 && row.contextinstanceid !== null && row.contextinstanceid > 0 && cls !== "grade" && this.isLearner(c, row.userid)) {
      const enrich = enrichText ? (safeJson(enrichText) as Record<string, any>) : null;
      const a = this.activityFor(c, row, batch, enrich);
      if (a) this.touch(c, this.learner(row.userid, c.id), a, row, batch);
    }
    if (cls === "other") return;
    const other = row.other ? safeJson(row.other) : null;
    const enrich = enrichText ? (safeJson(enrichText) as Record<string, any>) : null;
    if (cls === "grade_item") {
      if (row.objectid === null) return;
      const item = this.gradeItem(row.objectid, batch);
      item.courseId = c.id;
      if (other && typeof other === "object" && typeof other.itemtype === "string") item.itemtype = other.itemtype;
      return;
    }
    // Outcome events name the learner in relateduserid (the actor may be a teacher or -1).
    const learnerId = cls === "grade" || cls === "completion" ? (num(other?.relateduserid) ?? row.relateduserid ?? row.userid) : row.userid;
    if (!this.isLearner(c, learnerId)) return;
    const activity = cls === "grade" ? this.gradedActivity(c, row, other, enrich, learnerId, batch) : this.activityFor(c, row, batch, enrich);
    if (!activity) return;
    const m = moduleOf(c, activity);
    const l = this.learner(learnerId, c.id);
    if (LEARNING.has(cls)) {
      if (row.edulevel !== null && row.edulevel !== 2) return; // teaching/other levels are never learning actions
      if (m === null) {
        // An activity outside the known structure: history only (its state is kept, no transition).
        l.seen.add(activity.cmid);
        batch.touch(l, null);
        return;
      }
      const p = l.cur !== null && (hasStructure(c) ? c.sectionNames.has(l.cur) : l.cur === c.id) ? l.cur : m;
      const s = this.stateOf(l, c, p);
      const pi = moduleIdx(c, p);
      const mi = moduleIdx(c, m);
      const type = actionTypeOf(cls as EventClass)!;
      const a = actionIndex(type, mi < pi ? "past" : mi > pi ? "future" : "current");
      pushRecent(l, CLASS_CODES.indexOf(cls as (typeof CLASS_CODES)[number]), row.timecreated);
      l.seen.add(activity.cmid);
      if (cls === "submit_quiz" || cls === "submit_assignment") l.lastSubmit = [activity.cmid, row.timecreated];
      l.cur = m;
      l.last = { a, m };
      const s2 = this.stateOf(l, c, m);
      batch.transition(l, p, m, row, { course: c.id, s, a, r: clip(this.config().recommender.reward.step, this.config().recommender.reward.clip), s2 });
      return;
    }
    const s = m === null ? null : this.stateOf(l, c, m);
    const out = this.applyOutcome(cls, l, activity, other, enrich);
    if (out !== null) {
      const r = clip(out.r, this.config().recommender.reward.clip);
      // The moves that led here share in the outcome (their value, for the re-rank).
      batch.courses.add(c);
      for (const [f, t, st] of creditMoves(l.trace, r, out.grade, this.config().recommender.gamma, (f, t) => moveStat(c, f, t))) batch.moveChanged(c, f, t, st);
    }
    if (m === null || out === null) {
      batch.touch(l, m);
      return;
    }
    const s2 = this.stateOf(l, c, m);
    batch.transition(l, m, m, row, { course: c.id, s: s!, a: l.last ? l.last.a : -1, r: clip(out.r, this.config().recommender.reward.clip), s2 });
  }

  /**
   * Enrolments: one that ends stops the learner's answers and training in the course until
   * they are enrolled again.
   */
  private enrolmentEvent(c: Course, cls: EventClass, row: EventRow, batch: Batch): void {
    const u = row.relateduserid;
    if (u === null || u <= 0) return;
    if (cls === "enrolment_deleted") {
      c.unenrolled.add(u);
      batch.unenrolled.push([u, c.id]);
    } else if (c.unenrolled.delete(u)) {
      this.saveReEnrolled(c.id, u);
    }
  }

  /**
   * Staff are the users who manage other users of the course (ACTS_ON_OTHERS: assigning or
   * unassigning roles, enrolling or unenrolling, grading someone else), plus
   * moodle.staff_user_ids and the backend-sync plugin's staff enrolments. Holding a role does not
   * make staff (role_assigned names the holder, not the actor): on the real course-2 log a user
   * given the editing-teacher role works through the lessons like every learner, and the spec's
   * evaluation figures count them as one.
   */
  private staffEvent(c: Course, row: EventRow, batch: Batch): void {
    const u = row.userid;
    c.staff.add(u);
    this.saveStaff(c.id, u);
    // Staff are never learners: what was kept of them as one in this course goes.
    batch.becameStaff.push([u, c.id]);
  }

  /**
   * The learner is on activity a now. A change of activity is a move: the ranking's experts
   * are judged on it (Hedge) before it is counted, and it joins the learner's trace.
   */
  private touch(c: Course, l: Learner, a: Activity, row: EventRow, batch: Batch): void {
    batch.courses.add(c);
    if (row.edulevel === 2) {
      a.uses++;
      batch.activities.add(a);
    }
    // An activity outside the current structure is history only: no part of the sequence.
    const m = moduleOf(c, a);
    if (m === null || (hasStructure(c) && !a.inStructure)) return;
    const prev = l.lastAct;
    if (prev !== null && prev !== a.cmid) {
      // The signals are judged on every move while a course is young, then on every JUDGE_STRIDE-th
      // (the weights have settled by then; judging is the pipeline's largest per-move cost).
      const from = c.activities.get(prev);
      const judge = c.judged < JUDGE_ALL || c.movesSeen % JUDGE_STRIDE === 0;
      const losses = judge && from ? moveLosses(prev, from.position, recommendable(c), c.moves.get(prev), l, a.cmid) : null;
      c.movesSeen++;
      batch.rankers.add(c);
      if (losses) {
        c.weights = hedgeUpdate(c.weights, losses);
        c.judged++;
      }
      const st = recordMove(movesFrom(c, prev), a.cmid);
      batch.moveChanged(c, prev, a.cmid, st);
      countMove(l, prev, a.cmid);
      pushTrace(l.trace, prev, a.cmid);
    }
    l.lastAct = a.cmid;
    l.lastIn.set(m, a.cmid);
    batch.touch(l, m);
  }

  /** Updates the learner for a grade or completion; returns the reward and the grade (null = nothing changed). */
  private applyOutcome(cls: EventClass, l: Learner, a: Activity, other: any, enrich: Record<string, any> | null): { r: number; grade: number | null } | null {
    const rc = this.config().recommender;
    const w = rc.reward;
    if (cls === "completion") {
      const state = num(enrich?.completionstate) ?? num(other?.completionstate);
      if (state === null) return null;
      if (state === 0) {
        l.done.delete(a.cmid);
        return null;
      }
      const wasDone = l.done.has(a.cmid);
      l.done.add(a.cmid);
      const r = completionReward(state, wasDone, w);
      return r === null ? null : { r, grade: null };
    }
    // grade
    const item = this.gradeItems.get(num(other?.itemid) ?? num(enrich?.gradeitem) ?? -1);
    const final = num(enrich?.finalgrade) ?? num(other?.finalgrade);
    if (final === null) return null;
    const g = normaliseGrade(final, num(enrich?.grademax) ?? item?.grademax ?? rc.default_grade_max);
    const prevBest = l.best.get(a.cmid);
    l.grades.set(a.cmid, g);
    if (prevBest === undefined || g > prevBest) l.best.set(a.cmid, g);
    return { r: gradeReward(g, prevBest, w, rc.pass_grade), grade: g };
  }

  private gradeItem(itemId: number, batch: Batch): GradeItem {
    let g = this.gradeItems.get(itemId);
    if (!g) this.gradeItems.set(itemId, (g = { itemId, courseId: null, cmid: null, itemtype: null, grademax: null }));
    batch.items.add(g);
    return g;
  }

  /** Which activity a grade event is about: enrichment, a known grade item, or the learner's submission in the same few seconds. */
  private gradedActivity(c: Course, row: EventRow, other: any, enrich: Record<string, any> | null, learnerId: number, batch: Batch): Activity | null {
    if (row.contextlevel === 70 || enrich?.modname) return this.activityFor(c, row, batch, enrich);
    const itemId = num(other?.itemid) ?? num(enrich?.gradeitem);
    if (itemId === null) return null;
    const item = this.gradeItem(itemId, batch);
    item.courseId ??= c.id;
    if (num(enrich?.grademax) !== null) item.grademax = num(enrich?.grademax);
    if (item.itemtype === "course" || item.itemtype === "category") return null;
    if (item.cmid === null) {
      const l = this.learner(learnerId, c.id);
      const sub = l.lastSubmit;
      if (!sub || Math.abs(row.timecreated - sub[1]) > 5 || this.mappedCmids.has(sub[0])) return null;
      item.cmid = sub[0];
      this.mappedCmids.add(sub[0]);
    }
    return c.activities.get(item.cmid) ?? null;
  }

  // ---------------------------------------------------------------- recommendations

  modelVersion(): string {
    return `seq-hedge+qlearning-v2+seq${this.q.lastSeq}`;
  }

  /** Builds the answer for (learner, module) from the in-memory model. */
  recommend(l: Learner, m: number, k = STORED_RECS, now = Date.now()): RecommendationBody {
    const c = this.course(l.courseId);
    const rc = this.config().recommender;
    const s = this.stateOf(l, c, m);
    const anchorId = l.lastIn.get(m) ?? null;
    const anchor = anchorId === null ? null : (c.activities.get(anchorId) ?? null);
    const weights = c.weights;
    const ranked = rank({
      anchor: anchorId,
      anchorPosition: anchor?.position ?? null,
      candidates: recommendable(c),
      successors: anchorId === null ? undefined : c.moves.get(anchorId),
      learner: l,
      weights,
      passGrade: rc.pass_grade,
      valueWeight: rc.value_weight,
      limit: k,
    });
    return buildAnswer({
      course: c,
      learner: l,
      module: m,
      ranked,
      anchor,
      weights,
      found: this.q.lookup(c.id, s, rc.min_course_transitions),
      state: s,
      passGrade: rc.pass_grade,
      k,
      now,
      modelVersion: this.modelVersion(),
    });
  }

  /** The course model's version (answers computed at an older one may rank differently now). */
  courseVersion(courseId: number): number {
    return this.course(courseId).version;
  }

  /**
   * What GET answers for a learner with a stored row: computed from the current model (the
   * stored row may predate other learners' moves that changed the ranking). Null when the
   * learner is not known (or no longer a learner) there.
   */
  freshAnswer(userId: number, courseId: number, moduleId: number, k: number): RecommendationBody | null {
    const c = this.course(courseId);
    if (!this.isLearner(c, userId)) return null;
    const l = this.knownLearner(userId, courseId);
    return l ? this.recommend(l, moduleId, k) : null;
  }

  /** This course's learned blend weights (for the Q-table admin view). */
  rankingWeights(courseId: number): { weights: Record<string, number>; judged_moves: number } {
    const c = this.course(courseId);
    const w = c.weights;
    return { weights: Object.fromEntries(EXPERTS.map((e, i) => [e, Math.round(w[i]! * 1000) / 1000])), judged_moves: c.judged };
  }

  storeRecommendation(db: Db, l: Learner, m: number, now: number): void {
    this.storeInto(sqliteSink(db), l, m, now);
  }

  protected storeInto(sink: RecSink, l: Learner, m: number, now: number): void {
    const full = this.recommend(l, m, STORED_RECS, now);
    const k = this.config().recommender.top_k;
    const json = bodyJson(full, k);
    sink.recommendation(l.userId, l.courseId, m, json.body, json.full, k, now);
    this.lastRefreshAt = now;
    this.onStored?.(l.userId, l.courseId, m);
  }

  /** Recomputes stored rows for one learner/module, a learner, or a whole course (jobs API). */
  rebuild(db: Db, item: { user_id?: number; module_id?: number; course_id?: number }, now = Date.now()): number {
    const where: string[] = [];
    const args: number[] = [];
    if (item.user_id !== undefined) (where.push("user_id = ?"), args.push(item.user_id));
    if (item.course_id !== undefined) (where.push("course_id = ?"), args.push(item.course_id));
    if (item.module_id !== undefined) (where.push("module_id = ?"), args.push(item.module_id));
    const rows = prepared(db, `SELECT user_id, course_id, module_id FROM user_states${where.length ? " WHERE " + where.join(" AND ") : ""} ORDER BY course_id, user_id, module_id`).all(...args) as Array<{
      user_id: number;
      course_id: number;
      module_id: number;
    }>;
    let n = 0;
    for (const r of rows) {
      if (!this.isLearner(this.course(r.course_id), r.user_id)) continue;
      this.storeRecommendation(db, this.learner(r.user_id, r.course_id), r.module_id, now);
      n++;
    }
    return n;
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function num(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return null;
}

export { stateKey, type Transition, type MoveStat };
