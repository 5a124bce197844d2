import type { PgExec } from "../../store/postgres/client";
import { courseFrom, type Course, type CourseRows } from "./course";

// The course model read from PostgreSQL: the same rows, in the same order, as loadCourse() in
// course.ts reads from SQLite (activity_moves in key order, activities by section then cmid).

export async function loadCoursePg(sql: PgExec, id: number): Promise<Course> {
  const [sections, activities, staff, unenrolled, moves, rankers] = await Promise.all([
    sql<CourseRows["sections"]>`SELECT section_id, name FROM course_sections WHERE course_id = ${id} ORDER BY position`,
    sql<CourseRows["activities"]>`
      SELECT cmid, section_id, modname, name, position, in_structure, uses FROM course_activities WHERE course_id = ${id} ORDER BY section_id NULLS FIRST, cmid`,
    sql<{ user_id: number }[]>`SELECT user_id FROM course_staff WHERE course_id = ${id} ORDER BY user_id`,
    sql<{ user_id: number }[]>`SELECT user_id FROM course_unenrolled WHERE course_id = ${id} ORDER BY user_id`,
    sql<CourseRows["moves"]>`
      SELECT from_cmid, to_cmid, n, rn, rt, ret, gsum, gn FROM activity_moves WHERE course_id = ${id} ORDER BY from_cmid, to_cmid`,
    sql<NonNullable<CourseRows["ranker"]>[]>`SELECT weights, judged, moves FROM course_rankers WHERE course_id = ${id}`,
  ]);
  return courseFrom(id, {
    sections: [...sections],
    activities: [...activities],
    staff: staff.map((u) => u.user_id),
    unenrolled: unenrolled.map((u) => u.user_id),
    moves: [...moves],
    ranker: rankers[0],
  });
}
