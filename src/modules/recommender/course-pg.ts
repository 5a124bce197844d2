import type { PgExec } from "../../store/postgres/client";
import { moveStat, type Course } from "./course";
import { N_EXPERTS, PRIOR } from "./ranking";

// The course model read from PostgreSQL: the same rows, in the same order, as loadCourse() in
// course.ts reads from SQLite (activity_moves in key order, activities by section then cmid).

export async function loadCoursePg(sql: PgExec, id: number): Promise<Course> {
  const c: Course = {
    id,
    sections: [],
    sectionNames: new Map(),
    activities: new Map(),
    staff: new Set(),
    unenrolled: new Set(),
    byModule: new Map(),
    recommendable: null,
    moves: new Map(),
    weights: [...PRIOR],
    judged: 0,
    movesSeen: 0,
    version: 0,
  };
  const [sections, acts, staff, unenrolled, moves, rankers] = await Promise.all([
    sql<{ section_id: number; name: string | null }[]>`SELECT section_id, name FROM course_sections WHERE course_id = ${id} ORDER BY position`,
    sql<{ cmid: number; section_id: number | null; modname: string | null; name: string | null; position: number; in_structure: number; uses: number }[]>`
      SELECT cmid, section_id, modname, name, position, in_structure, uses FROM course_activities WHERE course_id = ${id} ORDER BY section_id NULLS FIRST, cmid`,
    sql<{ user_id: number }[]>`SELECT user_id FROM course_staff WHERE course_id = ${id} ORDER BY user_id`,
    sql<{ user_id: number }[]>`SELECT user_id FROM course_unenrolled WHERE course_id = ${id} ORDER BY user_id`,
    sql<{ from_cmid: number; to_cmid: number; n: number; rn: number; rt: number; ret: number; gsum: number; gn: number }[]>`
      SELECT from_cmid, to_cmid, n, rn, rt, ret, gsum, gn FROM activity_moves WHERE course_id = ${id} ORDER BY from_cmid, to_cmid`,
    sql<{ weights: string; judged: number; moves: number }[]>`SELECT weights, judged, moves FROM course_rankers WHERE course_id = ${id}`,
  ]);
  for (const s of sections) {
    c.sections.push(s.section_id);
    c.sectionNames.set(s.section_id, s.name);
  }
  for (const a of acts) {
    c.activities.set(a.cmid, { cmid: a.cmid, courseId: id, sectionId: a.section_id, modname: a.modname, name: a.name, position: a.position, inStructure: a.in_structure === 1, uses: a.uses });
  }
  for (const u of staff) c.staff.add(u.user_id);
  for (const u of unenrolled) c.unenrolled.add(u.user_id);
  for (const m of moves) Object.assign(moveStat(c, m.from_cmid, m.to_cmid), { n: m.n, rn: m.rn, rt: m.rt, ret: m.ret, gsum: m.gsum, gn: m.gn });
  const r = rankers[0];
  if (r) {
    const w = JSON.parse(r.weights) as number[];
    if (w.length === N_EXPERTS) c.weights = w;
    c.judged = r.judged;
    c.movesSeen = r.moves;
  }
  return c;
}
