import type { Logger } from "pino";
import type { Config } from "../../config/schema";
import type { Store } from "../../store/db";
import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import { ACTIONS, actionIndex, actionTypeOf, modsFor, type ActionType } from "./actions";
import { classify, CONTENT_MODS, LEARNING, type EventClass } from "./classify";
import { QTables, stateKey, type QSnapshotData, type StateTuple, type Transition } from "./qtable";
import {
  CLASS_CODES,
  engagement,
  learnerFromJson,
  learnerToJson,
  level,
  newLearner,
  phase,
  progressBin,
  pushRecent,
  scoreBin,
  tupleToState,
  type Learner,
} from "./state";

// The pipeline: classify → learner state → transition → Q-learning → stored recommendations.
// One engine per database; the daemon's queue job, `ferry import` and `ferry evaluate` all call
// processEvents() with rows of log_events, so live and historical data take the same path.

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

export interface Activity {
  cmid: number;
  courseId: number;
  sectionId: number | null;
  modname: string | null;
  name: string | null;
  position: number;
  inStructure: boolean;
  uses: number;
}

interface Course {
  id: number;
  /** Sections (lessons) in display order; empty = implicit module. */
  sections: number[];
  sectionNames: Map<number, string | null>;
  activities: Map<number, Activity>;
  staff: Set<number>;
  /** activitiesIn() per module, dropped whenever an activity is added or moves. */
  byModule: Map<number, Activity[]>;
}

interface GradeItem {
  itemId: number;
  courseId: number | null;
  cmid: number | null;
  itemtype: string | null;
  grademax: number | null;
}

export interface Recommendation {
  activity_id: number;
  activity_type: string;
  activity_name: string | null;
  action: ActionType | "popular";
  time_context: "past" | "current" | "future";
  q_value: number | null;
  reason: string;
}

export interface RecommendationBody {
  user_id: number;
  course_id: number;
  module_id: number;
  module_scope: "section" | "course";
  module_name: string | null;
  structure: string;
  state: ReturnType<typeof tupleToState>;
  state_tuple: number[];
  recommendations: Recommendation[];
  generated_at: string;
  model_version: string;
  message?: string;
}

const INSERT_HIST = "INSERT INTO state_history (event_id, user_id, course_id, module_id, state, action, reward, next_state, event_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const HIST_MULTI = 200;
const INSERT_HIST_MULTI = INSERT_HIST.replace(/VALUES \(([^)]*)\)/, (_, one: string) => "VALUES " + Array.from({ length: HIST_MULTI }, () => `(${one})`).join(", "));

/** Modules that are not learning activities (never part of a lesson's activity count). */
const NOT_LEARNABLE = new Set(["subsection", "qbank", "label"]);
const STORED_RECS = 10;
const IMPLICIT_NOTE = "implicit: no course structure known, all activities of the course form one module whose id is the course id";
const SECTION_NOTE = "course structure: modules are the course's sections (lessons), delegated subsections included";

export interface ProcessResult {
  processed: number;
  transitions: number;
  refreshed: number;
  /** Learners (and their modules) this call changed: what a deferred refresh must cover. */
  touched: Map<Learner, Set<number>>;
}

export class Engine {
  readonly q: QTables;
  private courses = new Map<number, Course>();
  private learners = new Map<string, Learner>();
  private gradeItems = new Map<number, GradeItem>();
  private mappedCmids = new Set<number>();
  private loaded = false;
  /** When the engine last stored a recommendation row (for metrics and tests). */
  lastRefreshAt = 0;

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
    this.q.alpha = rc.alpha;
    this.q.gamma = rc.gamma;
    this.q.reset();
    const snap = prepared<[], { last_seq: number; data: string }>(this.db, "SELECT last_seq, data FROM qtable_snapshots ORDER BY id DESC LIMIT 1").get();
    if (snap) this.q.load(JSON.parse(snap.data) as QSnapshotData, snap.last_seq);
    const from = this.q.lastSeq;
    let replayed = 0;
    const rows = prepared<[number], { seq: number; course_id: number; state: string; action: number; reward: number; next_state: string }>(
      this.db,
      "SELECT seq, course_id, state, action, reward, next_state FROM state_history WHERE seq > ? AND action IS NOT NULL ORDER BY seq",
    ).iterate(from);
    for (const r of rows) {
      this.q.apply({ course: r.course_id, s: r.state.split("|").map(Number), a: r.action, r: r.reward, s2: r.next_state.split("|").map(Number) }, r.seq);
      replayed++;
    }
    const top = prepared<[], number | null>(this.db, "SELECT max(seq) FROM state_history").pluck().get();
    if (top && top > this.q.lastSeq) this.q.lastSeq = top;
    this.gradeItems.clear();
    this.mappedCmids.clear();
    for (const g of prepared<[], { item_id: number; course_id: number | null; cmid: number | null; itemtype: string | null; grademax: number | null }>(this.db, "SELECT * FROM grade_items").all()) {
      this.gradeItems.set(g.item_id, { itemId: g.item_id, courseId: g.course_id, cmid: g.cmid, itemtype: g.itemtype, grademax: g.grademax });
      if (g.cmid !== null) this.mappedCmids.add(g.cmid);
    }
    this.loaded = true;
    return { snapshotSeq: from, replayed };
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
    // Memory can only be ahead of state_history if a batch rolled back and its caches are not reset yet:
    // never persist such a table (it would name transitions that are not stored).
    const stored = prepared<[], number | null>(db, "SELECT max(seq) FROM state_history").pluck().get() ?? 0;
    if (this.q.lastSeq > stored) return { written: false, lastSeq: this.q.lastSeq };
    const last = prepared<[], number | null>(db, "SELECT max(last_seq) FROM qtable_snapshots").pluck().get();
    if (last !== null && last !== undefined && last >= this.q.lastSeq && this.q.lastSeq > 0) return { written: false, lastSeq: this.q.lastSeq };
    if (this.q.lastSeq === 0 && this.q.courses.size === 0) return { written: false, lastSeq: 0 };
    prepared(db, "INSERT INTO qtable_snapshots (last_seq, created_at, data) VALUES (?, ?, ?)").run(this.q.lastSeq, now, JSON.stringify(this.q.toJSON()));
    const keep = this.config().recommender.snapshots_kept;
    prepared(db, "DELETE FROM qtable_snapshots WHERE id NOT IN (SELECT id FROM qtable_snapshots ORDER BY id DESC LIMIT ?)").run(keep);
    return { written: true, lastSeq: this.q.lastSeq };
  }

  // ---------------------------------------------------------------- course model

  course(id: number): Course {
    let c = this.courses.get(id);
    if (c) return c;
    c = { id, sections: [], sectionNames: new Map(), activities: new Map(), staff: new Set(), byModule: new Map() };
    for (const s of prepared<[number], { section_id: number; name: string | null }>(this.db, "SELECT section_id, name FROM course_sections WHERE course_id = ? ORDER BY position").all(id)) {
      c.sections.push(s.section_id);
      c.sectionNames.set(s.section_id, s.name);
    }
    for (const a of prepared<[number], { cmid: number; section_id: number | null; modname: string | null; name: string | null; position: number; in_structure: number; uses: number }>(
      this.db,
      "SELECT cmid, section_id, modname, name, position, in_structure, uses FROM course_activities WHERE course_id = ?",
    ).all(id)) {
      c.activities.set(a.cmid, { cmid: a.cmid, courseId: id, sectionId: a.section_id, modname: a.modname, name: a.name, position: a.position, inStructure: a.in_structure === 1, uses: a.uses });
    }
    for (const u of prepared<[number], number>(this.db, "SELECT user_id FROM course_staff WHERE course_id = ?").pluck().all(id)) c.staff.add(u);
    this.courses.set(id, c);
    return c;
  }

  hasStructure(c: Course): boolean {
    return c.sections.length > 0;
  }

  moduleOf(c: Course, a: Activity): number | null {
    if (!this.hasStructure(c)) return c.id;
    return a.sectionId !== null && c.sectionNames.has(a.sectionId) ? a.sectionId : null;
  }

  moduleIdx(c: Course, m: number): number {
    if (!this.hasStructure(c)) return 0;
    const i = c.sections.indexOf(m);
    return i < 0 ? c.sections.length : i;
  }

  /** Recommendable activities of module m (in the current structure; every seen one when implicit). */
  activitiesIn(c: Course, m: number): Activity[] {
    const cached = c.byModule.get(m);
    if (cached) return cached;
    const out: Activity[] = [];
    const structured = this.hasStructure(c);
    for (const a of c.activities.values()) {
      if (!a.modname || NOT_LEARNABLE.has(a.modname)) continue;
      if (structured ? a.sectionId === m && a.inStructure : true) out.push(a);
    }
    out.sort((x, y) => x.position - y.position || x.cmid - y.cmid);
    c.byModule.set(m, out);
    return out;
  }

  isStaff(c: Course, user: number): boolean {
    return c.staff.has(user) || this.config().moodle.staff_user_ids.includes(user);
  }

  // ---------------------------------------------------------------- learners and states

  private learnerKey(u: number, c: number): string {
    return `${u}:${c}`;
  }

  learner(u: number, courseId: number): Learner {
    const key = this.learnerKey(u, courseId);
    let l = this.learners.get(key);
    if (l) return l;
    const row = prepared<[number, number], { data: string }>(this.db, "SELECT data FROM learners WHERE user_id = ? AND course_id = ?").get(u, courseId);
    l = row ? learnerFromJson(u, courseId, row.data) : newLearner(u, courseId);
    this.learners.set(key, l);
    return l;
  }

  /** Only reads (GET paths): no cache entry for unknown learners. */
  knownLearner(u: number, courseId: number): Learner | null {
    const l = this.learners.get(this.learnerKey(u, courseId));
    if (l) return l;
    const row = prepared<[number, number], { data: string }>(this.db, "SELECT data FROM learners WHERE user_id = ? AND course_id = ?").get(u, courseId);
    return row ? learnerFromJson(u, courseId, row.data) : null;
  }

  stateOf(l: Learner, c: Course, m: number): StateTuple {
    const rc = this.config().recommender;
    const acts = this.activitiesIn(c, m);
    let touched = 0;
    let gsum = 0;
    let gn = 0;
    for (const a of acts) {
      if (l.done.has(a.cmid) || l.seen.has(a.cmid)) touched++;
      const g = l.grades.get(a.cmid);
      if (g !== undefined) {
        gsum += g;
        gn++;
      }
    }
    // Graded activities that are no longer in the structure still count for the module they were in.
    if (gn === 0) {
      for (const [cmid, g] of l.grades) {
        const a = c.activities.get(cmid);
        if (a && this.moduleOf(c, a) === m) {
          gsum += g;
          gn++;
        }
      }
    }
    return [level(l, rc.level_thresholds), this.moduleIdx(c, m), progressBin(touched, acts.length), scoreBin(gsum, gn), phase(l), engagement(l)];
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
    const mark = prepared(db, "UPDATE log_events SET processed = 1 WHERE id = ?");
    for (const r of rows) mark.run(r.id);
    return this.processEvents(db, rows);
  }

  /**
   * Runs events (already stored) through classification, state, Q-learning and recommendation
   * refresh. Must run inside a transaction; on error the caller rolls back and calls resetCaches(true).
   */
  processEvents(db: Db, rows: EventRow[], opts: { refresh?: boolean; now?: number } = {}): ProcessResult {
    if (!this.loaded) this.load();
    const now = opts.now ?? Date.now();
    const batch = new Batch();
    for (const row of rows) this.processOne(row, batch);

    // Persist: learners, states, activities, grade items, transitions (seq order = Q order).
    const upLearner = prepared(db, "INSERT INTO learners (user_id, course_id, current_module, data, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, course_id) DO UPDATE SET current_module = excluded.current_module, data = excluded.data, updated_at = excluded.updated_at");
    for (const l of batch.learners) upLearner.run(l.userId, l.courseId, l.cur, learnerToJson(l), now);
    const upState = prepared(
      db,
      `INSERT INTO user_states (user_id, course_id, module_id, level, module_idx, progress, score, phase, engagement, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, course_id, module_id) DO UPDATE SET level = excluded.level, module_idx = excluded.module_idx, progress = excluded.progress, score = excluded.score,
         phase = excluded.phase, engagement = excluded.engagement, data = excluded.data, updated_at = excluded.updated_at`,
    );
    const touchedModules = new Map<Learner, Set<number>>();
    for (const [l, mods] of batch.states) {
      const c = this.course(l.courseId);
      for (const m of mods) {
        const s = this.stateOf(l, c, m);
        upState.run(l.userId, l.courseId, m, s[0], s[1], s[2], s[3], s[4], s[5], `{"activities":${this.activitiesIn(c, m).length}}`, now);
      }
      touchedModules.set(l, mods);
    }
    const upAct = prepared(
      db,
      `INSERT INTO course_activities (cmid, course_id, section_id, modname, name, position, in_structure, uses) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cmid) DO UPDATE SET section_id = excluded.section_id, modname = excluded.modname, name = excluded.name, uses = excluded.uses`,
    );
    for (const a of batch.activities) upAct.run(a.cmid, a.courseId, a.sectionId, a.modname, a.name, a.position, a.inStructure ? 1 : 0, a.uses);
    const upItem = prepared(db, "INSERT INTO grade_items (item_id, course_id, cmid, itemtype, grademax) VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET course_id = excluded.course_id, cmid = excluded.cmid, itemtype = excluded.itemtype, grademax = excluded.grademax");
    for (const g of batch.items) upItem.run(g.itemId, g.courseId, g.cmid, g.itemtype, g.grademax);
    const insHist = prepared(db, INSERT_HIST);
    const applied: Array<[Transition, number, string, string]> = [];
    const hist = batch.history;
    // Each state key is built once: for state_history and for the Q update.
    for (const h of hist) {
      h.k = stateKey(h.tr.s);
      h.k2 = stateKey(h.tr.s2);
    }
    const record = (h: (typeof hist)[number], seq: number) => {
      if (h.tr.a >= 0) applied.push([h.tr, seq, h.k, h.k2]);
      else if (seq > this.q.lastSeq) this.q.lastSeq = seq;
    };
    let i = 0;
    if (hist.length >= HIST_MULTI) {
      // Big batches (imports): HIST_MULTI rows per statement. The rows of one INSERT get
      // consecutive seqs in VALUES order (no other writer inside our transaction), so the last
      // insert rowid names them all: the same seqs the row-by-row loop would assign.
      const multi = prepared(db, INSERT_HIST_MULTI);
      const params: unknown[] = new Array(HIST_MULTI * 9);
      for (; i + HIST_MULTI <= hist.length; i += HIST_MULTI) {
        for (let j = 0; j < HIST_MULTI; j++) {
          const h = hist[i + j]!;
          const o = j * 9;
          params[o] = h.eventId; params[o + 1] = h.user; params[o + 2] = h.tr.course; params[o + 3] = h.module; params[o + 4] = h.k;
          params[o + 5] = h.tr.a < 0 ? null : h.tr.a; params[o + 6] = h.tr.r; params[o + 7] = h.k2; params[o + 8] = h.time;
        }
        const last = Number(multi.run(...params).lastInsertRowid);
        for (let j = 0; j < HIST_MULTI; j++) record(hist[i + j]!, last - HIST_MULTI + 1 + j);
      }
    }
    for (; i < hist.length; i++) {
      const h = hist[i]!;
      record(h, Number(insHist.run(h.eventId, h.user, h.tr.course, h.module, h.k, h.tr.a < 0 ? null : h.tr.a, h.tr.r, h.k2, h.time).lastInsertRowid));
    }
    // Q updates last: everything above can throw (and roll back); this cannot.
    for (const [tr, seq, k, k2] of applied) this.q.apply(tr, seq, k, k2);

    const refreshed = opts.refresh === false ? 0 : this.refresh(db, touchedModules, now);
    return { processed: rows.length, transitions: batch.history.length, refreshed, touched: touchedModules };
  }

  /** Stores fresh recommendations for each learner's touched modules and current module. */
  refresh(db: Db, touched: Map<Learner, Set<number>>, now: number): number {
    let n = 0;
    for (const [l, mods] of touched) {
      const targets = new Set(mods);
      if (l.cur !== null) targets.add(l.cur);
      for (const m of targets) {
        this.storeRecommendation(db, l, m, now);
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
      c.byModule.clear();
      batch.activities.add(a);
    } else if (!a.modname && modname) {
      a.modname = modname;
      c.byModule.clear();
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
        prepared(this.db, "INSERT OR IGNORE INTO course_sections (course_id, section_id, position, name) VALUES (?, ?, ?, NULL)").run(c.id, sectionid, 1000 + c.sections.length);
      }
      a.inStructure = !prepared<[number], number>(this.db, "SELECT count(*) FROM course_structures WHERE course_id = ?").pluck().get(c.id);
      c.byModule.clear();
      batch.activities.add(a);
    }
    return a;
  }

  private processOne(row: EventRow, batch: Batch): void {
    const cls = classify(row.eventname);
    if (cls === "other") return;
    const c = this.course(row.courseid);
    const staffRoles = this.config().moodle.staff_role_ids;
    if (cls === "role_assigned" || cls === "role_unassigned") {
      const user = row.relateduserid;
      if (user === null || row.objectid === null || !staffRoles.includes(row.objectid)) return;
      if (cls === "role_assigned") {
        c.staff.add(user);
        prepared(this.db, "INSERT OR IGNORE INTO course_staff (course_id, user_id) VALUES (?, ?)").run(c.id, user);
      } else {
        c.staff.delete(user);
        prepared(this.db, "DELETE FROM course_staff WHERE course_id = ? AND user_id = ?").run(c.id, user);
      }
      return;
    }
    const other = row.other ? safeJson(row.other) : null;
    const enrich = row.enrich ? (safeJson(row.enrich) as Record<string, any>) : null;
    if (cls === "grade_item") {
      if (row.objectid === null) return;
      const item = this.gradeItem(row.objectid, batch);
      item.courseId = c.id;
      if (other && typeof other === "object" && typeof other.itemtype === "string") item.itemtype = other.itemtype;
      return;
    }
    // Outcome events name the learner in relateduserid (the actor may be a teacher or -1).
    const learnerId = cls === "grade" || cls === "completion" ? (num(other?.relateduserid) ?? row.relateduserid ?? row.userid) : row.userid;
    if (learnerId <= 0 || this.isStaff(c, learnerId)) return;
    const activity = cls === "grade" ? this.gradedActivity(c, row, other, enrich, learnerId, batch) : this.activityFor(c, row, batch, enrich);
    if (!activity) return;
    const m = this.moduleOf(c, activity);
    const l = this.learner(learnerId, c.id);
    if (LEARNING.has(cls)) {
      if (row.edulevel !== null && row.edulevel !== 2) return; // teaching/other levels are never learning actions
      activity.uses++;
      batch.activities.add(activity);
      if (m === null) {
        // An activity outside the known structure: history only (its state is kept, no transition).
        l.seen.add(activity.cmid);
        batch.touch(l, null);
        return;
      }
      const p = l.cur !== null && (this.hasStructure(c) ? c.sectionNames.has(l.cur) : l.cur === c.id) ? l.cur : m;
      const s = this.stateOf(l, c, p);
      const pi = this.moduleIdx(c, p);
      const mi = this.moduleIdx(c, m);
      const type = actionTypeOf(cls as EventClass)!;
      const a = actionIndex(type, mi < pi ? "past" : mi > pi ? "future" : "current");
      pushRecent(l, CLASS_CODES.indexOf(cls as (typeof CLASS_CODES)[number]), row.timecreated);
      l.seen.add(activity.cmid);
      if (cls === "submit_quiz" || cls === "submit_assignment") l.lastSubmit = [activity.cmid, row.timecreated];
      l.cur = m;
      l.last = { a, m };
      const s2 = this.stateOf(l, c, m);
      batch.transition(l, p, m, row, { course: c.id, s, a, r: this.clip(this.config().recommender.reward.step), s2 });
      return;
    }
    if (m === null) {
      this.applyOutcome(cls, l, activity, other, enrich, row, null);
      batch.touch(l, null);
      return;
    }
    const s = this.stateOf(l, c, m);
    const r = this.applyOutcome(cls, l, activity, other, enrich, row, c);
    if (r === null) {
      batch.touch(l, m);
      return;
    }
    const s2 = this.stateOf(l, c, m);
    batch.transition(l, m, m, row, { course: c.id, s, a: l.last ? l.last.a : -1, r: this.clip(r), s2 });
  }

  private clip(r: number): number {
    const clip = this.config().recommender.reward.clip;
    return Math.max(-clip, Math.min(clip, r));
  }

  /** Updates the learner for a grade or completion; returns the reward (null = nothing changed). */
  private applyOutcome(cls: EventClass, l: Learner, a: Activity, other: any, enrich: Record<string, any> | null, row: EventRow, c: Course | null): number | null {
    const w = this.config().recommender.reward;
    const rc = this.config().recommender;
    if (cls === "completion") {
      const state = num(enrich?.completionstate) ?? num(other?.completionstate);
      if (state === null) return null;
      if (state === 0) {
        l.done.delete(a.cmid);
        return null;
      }
      const wasDone = l.done.has(a.cmid);
      l.done.add(a.cmid);
      if (state === 3) return w.failure;
      return wasDone ? null : w.completion;
    }
    // grade
    const item = this.gradeItems.get(num(other?.itemid) ?? num(enrich?.gradeitem) ?? -1);
    const final = num(enrich?.finalgrade) ?? num(other?.finalgrade);
    if (final === null) return null;
    const max = num(enrich?.grademax) ?? item?.grademax ?? rc.default_grade_max;
    const g = max > 0 ? Math.max(0, Math.min(1, final / max)) : 0;
    const prevBest = l.best.get(a.cmid);
    l.grades.set(a.cmid, g);
    if (prevBest === undefined || g > prevBest) l.best.set(a.cmid, g);
    void c;
    void row;
    return w.grade * g + w.improvement * Math.max(0, g - (prevBest ?? 0)) + (g < rc.pass_grade ? w.failure : 0);
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
    return `qlearning-v1+seq${this.q.lastSeq}`;
  }

  /** Builds the answer for (learner, module) from the in-memory model. */
  recommend(l: Learner, m: number, k = STORED_RECS, now = Date.now()): RecommendationBody {
    const c = this.course(l.courseId);
    const rc = this.config().recommender;
    const s = this.stateOf(l, c, m);
    const structured = this.hasStructure(c);
    const found = this.q.lookup(c.id, s, rc.min_course_transitions);
    const recs: Recommendation[] = [];
    const used = new Set<number>();
    if (found && found.counts.some((n) => n > 0)) {
      // Action score = Q(s,a) + β·P(a|s). P(a|s) is how often learners in this state took the
      // action (the Q-table's own visit counts): a usage prior that separates actions whose Q is
      // still near zero (young tables, step costs only) and breaks ties; as rewards accumulate
      // Q dominates. β = recommender.popularity_weight (0 = pure Q).
      const beta = rc.popularity_weight;
      let total = 0;
      for (const n of found.counts) total += n;
      const score = (i: number) => found.values[i]! + (beta * found.counts[i]!) / total;
      const order = ACTIONS.map((a) => a.index).sort((x, y) => score(y) - score(x) || x - y);
      // Exploit, then explore: actions learners took from this state with a non-negative score
      // come first (pass 0: the best activity of each, so the short list spans several kinds of
      // action; pass 1: their other activities); pass 2 adds the rest by score, where an untried
      // action (Q 0: no evidence either way) ranks above a tried one that learned a negative score.
      const known = (i: number) => found.counts[i]! > 0 && score(i) >= 0;
      const note =
        found.source === "global" ? " (from the model of all courses: this course has little data yet)" : found.source === "nearest" ? ` (borrowed from the nearest known state, distance ${found.distance})` : "";
      // candidates() depends only on (learner, module, action) here: computed once per action, not once per pass.
      const byAction: Array<Array<{ a: Activity; why: string }> | undefined> = [];
      for (let pass = 0; pass < 3 && recs.length < k; pass++) {
        for (const ai of order) {
          if (recs.length >= k) break;
          if (pass < 2 ? !known(ai) : known(ai)) continue;
          const action = ACTIONS[ai]!;
          const cands = (byAction[ai] ??= this.candidates(l, c, m, action.type, action.time)).filter((x) => !used.has(x.a.cmid));
          const take = pass === 0 ? cands.slice(0, 1) : cands;
          for (const cand of take) {
            if (recs.length >= k) break;
            used.add(cand.a.cmid);
            const q = Math.round(found.values[ai]! * 10000) / 10000;
            recs.push({
              activity_id: cand.a.cmid,
              activity_type: cand.a.modname ?? "unknown",
              activity_name: cand.a.name,
              action: action.type,
              time_context: action.time,
              q_value: q,
              reason: found.counts[ai]! > 0
                ? `${VERB[action.type]} in ${action.time === "current" ? "this" : action.time === "past" ? "an earlier" : "the next"} module ranks high among what learners in your state did (Q=${q}, learned from ${found.counts[ai]} of ${total} transitions)${note}; ${cand.why}.`
                : `${VERB[action.type]} in ${action.time === "current" ? "this" : action.time === "past" ? "an earlier" : "the next"} module: not yet tried from your state, suggested to explore${note}; ${cand.why}.`,
            });
          }
        }
      }
    }
    if (recs.length === 0) {
      // Cold start: the module's most used activities this learner has not completed (same
      // order as candidates(): usage, then course order).
      const pop = this.activitiesIn(c, m)
        .filter((a) => !l.done.has(a.cmid))
        .sort((x, y) => y.uses - x.uses || x.position - y.position);
      for (const a of pop.slice(0, k)) {
        recs.push({
          activity_id: a.cmid,
          activity_type: a.modname ?? "unknown",
          activity_name: a.name,
          action: "popular",
          time_context: "current",
          q_value: null,
          reason: `No learned Q-values for this state yet: one of the most used activities of this module (${a.uses} uses) that you have not completed.`,
        });
      }
    }
    return {
      user_id: l.userId,
      course_id: c.id,
      module_id: m,
      module_scope: structured ? "section" : "course",
      module_name: structured ? (c.sectionNames.get(m) ?? null) : null,
      structure: structured ? SECTION_NOTE : IMPLICIT_NOTE,
      state: tupleToState(s),
      state_tuple: s,
      recommendations: recs,
      generated_at: new Date(now).toISOString(),
      model_version: this.modelVersion(),
    };
  }

  /** Concrete activities for an action: that type, in the target module, not completed by the learner. */
  private candidates(l: Learner, c: Course, m: number, type: ActionType, time: "past" | "current" | "future"): Array<{ a: Activity; why: string }> {
    const match = modsFor(type, CONTENT_MODS);
    let modules: number[];
    if (time === "current") modules = [m];
    else if (!this.hasStructure(c)) return [];
    else {
      const i = c.sections.indexOf(m);
      if (i < 0) return [];
      modules = time === "past" ? c.sections.slice(0, i).reverse() : c.sections.slice(i + 1);
    }
    for (const mod of modules) {
      const acts = this.activitiesIn(c, mod).filter((a) => match(a.modname!));
      let out: Array<{ a: Activity; why: string }>;
      if (type === "review_quiz") {
        out = acts
          .filter((a) => l.grades.has(a.cmid))
          .sort((x, y) => l.grades.get(x.cmid)! - l.grades.get(y.cmid)! || x.position - y.position)
          .map((a) => ({ a, why: `your lowest graded quiz there (${Math.round(l.grades.get(a.cmid)! * 100)}%)` }));
      } else {
        // Not completed, the most used by learners of the course first, then course order. Not
        // "unseen first": learners mostly come back to what they started but have not completed
        // (another quiz attempt, the video again), and the offline evaluation showed putting
        // never-opened activities first loses to plain usage (README, ferry evaluate). Submitting
        // still starts with what the learner opened: one cannot submit an attempt never begun.
        const open = acts.filter((a) => !l.done.has(a.cmid)).sort((x, y) => y.uses - x.uses || x.position - y.position);
        const submit = type === "submit_quiz" || type === "submit_assignment";
        out = (submit ? [...open.filter((a) => l.seen.has(a.cmid)), ...open.filter((a) => !l.seen.has(a.cmid))] : open).map((a) => ({
          a,
          why: l.seen.has(a.cmid) ? "you started it but have not completed it" : "you have not done it yet",
        }));
      }
      if (out.length) return out;
    }
    return [];
  }

  storeRecommendation(db: Db, l: Learner, m: number, now: number): void {
    const full = this.recommend(l, m, STORED_RECS, now);
    const k = this.config().recommender.top_k;
    const json = bodyJson(full, k);
    prepared(
      db,
      "INSERT INTO recommendations (user_id, course_id, module_id, body, full, k, generated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, module_id, course_id) DO UPDATE SET body = excluded.body, full = excluded.full, k = excluded.k, generated_at = excluded.generated_at",
    ).run(l.userId, l.courseId, m, json.body, json.full, k, now);
    this.lastRefreshAt = now;
    this.onStored?.(l.userId, l.courseId, m);
  }

  /** Called inside the writing transaction whenever a learner's stored row changes (the GET cache drops it). */
  onStored: ((userId: number, courseId: number, moduleId: number) => void) | null = null;

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
      const l = this.learner(r.user_id, r.course_id);
      this.storeRecommendation(db, l, r.module_id, now);
      n++;
    }
    return n;
  }
}

const VERB: Record<ActionType, string> = {
  view_content: "Studying content",
  view_assignment: "Opening an assignment",
  submit_assignment: "Submitting an assignment",
  attempt_quiz: "Attempting a quiz",
  submit_quiz: "Finishing a quiz attempt",
  review_quiz: "Reviewing a quiz",
  post_forum: "Taking part in a forum",
};

class Batch {
  learners = new Set<Learner>();
  states = new Map<Learner, Set<number>>();
  activities = new Set<Activity>();
  items = new Set<GradeItem>();
  /** k/k2: stateKey of tr.s/tr.s2, filled in once when the batch is persisted. */
  history: Array<{ eventId: number; user: number; module: number; time: number; tr: Transition; k: string; k2: string }> = [];

  touch(l: Learner, m: number | null): void {
    this.learners.add(l);
    let s = this.states.get(l);
    if (!s) this.states.set(l, (s = new Set()));
    if (m !== null) s.add(m);
  }

  transition(l: Learner, p: number, m: number, row: EventRow, tr: Transition): void {
    this.touch(l, m);
    if (p !== m) this.states.get(l)!.add(p);
    this.history.push({ eventId: row.id, user: l.userId, module: m, time: row.timecreated, tr, k: "", k2: "" });
  }
}

/**
 * The stored row's two texts: exactly JSON.stringify(full) and JSON.stringify({ ...full,
 * recommendations: first k }), with each part serialised once (the recommendations are
 * shared by both; the long constant notes are serialised once per process).
 */
export function bodyJson(full: RecommendationBody, k: number): { body: string; full: string } {
  const st = full.state;
  // Key order as recommend() builds the object; numbers as JSON.stringify writes them.
  let pre =
    `{"user_id":${jnum(full.user_id)},"course_id":${jnum(full.course_id)},"module_id":${jnum(full.module_id)},"module_scope":${JSON.stringify(full.module_scope)}` +
    `,"module_name":${JSON.stringify(full.module_name)},"structure":${full.structure === SECTION_NOTE ? SECTION_NOTE_JSON : full.structure === IMPLICIT_NOTE ? IMPLICIT_NOTE_JSON : JSON.stringify(full.structure)}` +
    `,"state":{"level":${jnum(st.level)},"module_idx":${jnum(st.module_idx)},"progress":${jnum(st.progress)},"score":${jnum(st.score)},"phase":${jnum(st.phase)},"engagement":${jnum(st.engagement)}}` +
    `,"state_tuple":${JSON.stringify(full.state_tuple)},"recommendations":`;
  let tail = `,"generated_at":${JSON.stringify(full.generated_at)},"model_version":${JSON.stringify(full.model_version)}`;
  if (full.message !== undefined) tail += `,"message":${JSON.stringify(full.message)}`;
  tail += "}";
  const recs = full.recommendations;
  if (recs.length <= k) {
    const text = pre + JSON.stringify(recs) + tail;
    return { body: text, full: text };
  }
  // The first k are serialised once and shared: full = [first k] joined with [the rest].
  const first = JSON.stringify(recs.slice(0, k));
  const rest = JSON.stringify(recs.slice(k));
  return { body: pre + first + tail, full: pre + (k > 0 ? first.slice(0, -1) + "," + rest.slice(1) : rest) + tail };
}

const SECTION_NOTE_JSON = JSON.stringify(SECTION_NOTE);
const IMPLICIT_NOTE_JSON = JSON.stringify(IMPLICIT_NOTE);
const jnum = (n: number): string => (Number.isFinite(n) ? String(n) : "null");

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
