import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import { N_EXPERTS, PRIOR, type Candidate, type MoveStat } from "./ranking";

// The course model: sections (modules), activities, staff, and what the course's learners
// taught the ranking (moves between activities, the experts' weights). Read from SQLite once per
// course and kept in memory; the engine writes changes back in the batch's transaction.

export interface Activity {
  cmid: number;
  courseId: number;
  sectionId: number | null;
  modname: string | null;
  name: string | null;
  position: number;
  inStructure: boolean;
  /** Learning rows (learner events with edulevel 2) on it. */
  uses: number;
}

export interface Course {
  id: number;
  /** Sections (lessons) in display order; empty = implicit module. */
  sections: number[];
  sectionNames: Map<number, string | null>;
  activities: Map<number, Activity>;
  staff: Set<number>;
  /** Learners whose enrolment ended (user_enrolment_deleted): not trained on, no answers. */
  unenrolled: Set<number>;
  /** activitiesIn() per module, dropped whenever an activity is added or moves. */
  byModule: Map<number, Activity[]>;
  /** Every recommendable activity, dropped with byModule. */
  recommendable: Candidate[] | null;
  /** Moves learners made: from → to → stats. */
  moves: Map<number, Map<number, MoveStat>>;
  /** Hedge: each expert's weight, how many moves they were judged on, and all moves seen. */
  weights: number[];
  judged: number;
  movesSeen: number;
  /** Bumped (in memory) whenever a batch changed what the course's answers are ranked from. */
  version: number;
}

/** Modules that are not learning activities (never part of a lesson's activity count). */
export const NOT_LEARNABLE = new Set(["subsection", "qbank", "label"]);

/** The rows a course model is built from (read by loadCourse here and loadCoursePg). */
export interface CourseRows {
  sections: Array<{ section_id: number; name: string | null }>;
  activities: Array<{ cmid: number; section_id: number | null; modname: string | null; name: string | null; position: number; in_structure: number; uses: number }>;
  staff: number[];
  unenrolled: number[];
  moves: Array<{ from_cmid: number; to_cmid: number; n: number; rn: number; rt: number; ret: number; gsum: number; gn: number }>;
  ranker: { weights: string; judged: number; moves: number } | undefined;
}

export function loadCourse(db: Db, id: number): Course {
  return courseFrom(id, {
    sections: prepared<[number], CourseRows["sections"][number]>(db, "SELECT section_id, name FROM course_sections WHERE course_id = ? ORDER BY position").all(id),
    activities: prepared<[number], CourseRows["activities"][number]>(db, "SELECT cmid, section_id, modname, name, position, in_structure, uses FROM course_activities WHERE course_id = ?").all(id),
    staff: prepared<[number], number>(db, "SELECT user_id FROM course_staff WHERE course_id = ?").pluck().all(id),
    unenrolled: prepared<[number], number>(db, "SELECT user_id FROM course_unenrolled WHERE course_id = ?").pluck().all(id),
    moves: prepared<[number], CourseRows["moves"][number]>(db, "SELECT from_cmid, to_cmid, n, rn, rt, ret, gsum, gn FROM activity_moves WHERE course_id = ?").all(id),
    ranker: prepared<[number], NonNullable<CourseRows["ranker"]>>(db, "SELECT weights, judged, moves FROM course_rankers WHERE course_id = ?").get(id),
  });
}

/** The course model from its rows, on either driver. */
export function courseFrom(id: number, rows: CourseRows): Course {
  const c: Course = {
    id,
    sections: [],
    sectionNames: new Map(),
    activities: new Map(),
    staff: new Set(rows.staff),
    unenrolled: new Set(rows.unenrolled),
    byModule: new Map(),
    recommendable: null,
    moves: new Map(),
    weights: [...PRIOR],
    judged: 0,
    movesSeen: 0,
    version: 0,
  };
  for (const s of rows.sections) {
    c.sections.push(s.section_id);
    c.sectionNames.set(s.section_id, s.name);
  }
  for (const a of rows.activities) {
    c.activities.set(a.cmid, { cmid: a.cmid, courseId: id, sectionId: a.section_id, modname: a.modname, name: a.name, position: a.position, inStructure: a.in_structure === 1, uses: a.uses });
  }
  for (const m of rows.moves) Object.assign(moveStat(c, m.from_cmid, m.to_cmid), { n: m.n, rn: m.rn, rt: m.rt, ret: m.ret, gsum: m.gsum, gn: m.gn });
  const r = rows.ranker;
  if (r) {
    const w = JSON.parse(r.weights) as number[];
    if (w.length === N_EXPERTS) c.weights = w;
    c.judged = r.judged;
    c.movesSeen = r.moves;
  }
  return c;
}

/** The moves learners made from an activity (created empty). */
export function movesFrom(c: Course, from: number): Map<number, MoveStat> {
  let m = c.moves.get(from);
  if (!m) c.moves.set(from, (m = new Map()));
  return m;
}

export function moveStat(c: Course, from: number, to: number): MoveStat {
  let m = c.moves.get(from);
  if (!m) c.moves.set(from, (m = new Map()));
  let s = m.get(to);
  if (!s) m.set(to, (s = { n: 0, rn: 0, rt: 0, ret: 0, gsum: 0, gn: 0 }));
  return s;
}

export function hasStructure(c: Course): boolean {
  return c.sections.length > 0;
}

/** The module an activity belongs to: its section when a structure is known, else the course. */
export function moduleOf(c: Course, a: Activity): number | null {
  if (!hasStructure(c)) return c.id;
  return a.sectionId !== null && c.sectionNames.has(a.sectionId) ? a.sectionId : null;
}

export function moduleIdx(c: Course, m: number): number {
  if (!hasStructure(c)) return 0;
  const i = c.sections.indexOf(m);
  return i < 0 ? c.sections.length : i;
}

/** Recommendable activities of module m (in the current structure; every seen one when implicit). */
export function activitiesIn(c: Course, m: number): Activity[] {
  const cached = c.byModule.get(m);
  if (cached) return cached;
  const out: Activity[] = [];
  const structured = hasStructure(c);
  for (const a of c.activities.values()) {
    if (!a.modname || NOT_LEARNABLE.has(a.modname)) continue;
    if (structured ? a.sectionId === m && a.inStructure : true) out.push(a);
  }
  out.sort((x, y) => x.position - y.position || x.cmid - y.cmid);
  c.byModule.set(m, out);
  return out;
}

/** Every recommendable activity of the course, in course order (the ranking's candidates). */
export function recommendable(c: Course): Candidate[] {
  if (c.recommendable) return c.recommendable;
  const out: Activity[] = [];
  for (const m of hasStructure(c) ? c.sections : [c.id]) out.push(...activitiesIn(c, m));
  // Candidate objects are the activities themselves: their `uses` stays live.
  c.recommendable = out;
  return out;
}

/** Call when an activity is added, moves or changes kind. */
export function activitiesChanged(c: Course): void {
  c.byModule.clear();
  c.recommendable = null;
}
