import type { PgExec, PgTx } from "../../store/postgres/client";
import type { CourseContents } from "../moodle/model";
import { NOT_LEARNABLE } from "./course";
import { orderSections, structureAnswer, type StructureRows, type StructureSummary } from "./structure";

// structure.ts on PostgreSQL: the same rows, and a course_versions bump so the course's shard
// owner (any node) reloads the course before its next batch.


/** The course's model changed outside the pipeline (structure, staff): its owner reloads it. */
export async function bumpCourseVersion(tx: PgTx, courseId: number): Promise<void> {
  await tx`INSERT INTO course_versions (course_id, version) VALUES (${courseId}, 1) ON CONFLICT (course_id) DO UPDATE SET version = course_versions.version + 1`;
}

export async function applyStructurePg(tx: PgTx, courseId: number, contents: CourseContents, now: number): Promise<StructureSummary> {
  const ordered = orderSections(contents);
  await tx`INSERT INTO course_structures (course_id, contents, updated_at) VALUES (${courseId}, ${JSON.stringify(contents)}, ${now})
    ON CONFLICT (course_id) DO UPDATE SET contents = excluded.contents, updated_at = excluded.updated_at`;
  await tx`DELETE FROM course_sections WHERE course_id = ${courseId}`;
  await tx`UPDATE course_activities SET in_structure = 0 WHERE course_id = ${courseId}`;
  const sections: Array<Record<string, unknown>> = [];
  const acts = new Map<number, Record<string, unknown>>();
  const summary: StructureSummary = { course_id: courseId, module_scope: "section", modules: [] };
  let position = 0;
  let actPos = 0;
  for (const s of ordered) {
    const learnable = s.modules.filter((m) => !NOT_LEARNABLE.has(m.modname));
    // The last listing of an activity wins, as the row-by-row upsert on SQLite does.
    for (const m of s.modules) acts.set(m.id, { cmid: m.id, course_id: courseId, section_id: s.id, modname: m.modname, name: m.name ?? null, position: actPos++, in_structure: 1, uses: 0 });
    if (learnable.length === 0) continue;
    sections.push({ course_id: courseId, section_id: s.id, position, name: s.name ?? null });
    summary.modules.push({
      module_id: s.id,
      position: position++,
      name: s.name ?? null,
      delegated: s.component === "mod_subsection",
      activities: learnable.map((m) => ({ activity_id: m.id, modname: m.modname, name: m.name ?? null })),
    });
  }
  if (sections.length) await tx`INSERT INTO course_sections ${tx(sections, "course_id", "section_id", "position", "name")}`;
  if (acts.size) {
    await tx`INSERT INTO course_activities ${tx([...acts.values()], "cmid", "course_id", "section_id", "modname", "name", "position", "in_structure", "uses")}
      ON CONFLICT (cmid) DO UPDATE SET course_id = excluded.course_id, section_id = excluded.section_id, modname = excluded.modname, name = excluded.name, position = excluded.position, in_structure = 1`;
  }
  await bumpCourseVersion(tx, courseId);
  return summary;
}

/** readStructure() of structure.ts on PostgreSQL (any node: it reads only the database). */
export async function readStructurePg(sql: PgExec, courseId: number): Promise<Record<string, unknown>> {
  const [[row], acts, sections] = await Promise.all([
    sql<NonNullable<StructureRows["row"]>[]>`SELECT contents, updated_at FROM course_structures WHERE course_id = ${courseId}`,
    sql<StructureRows["acts"]>`SELECT cmid, section_id, modname, name, in_structure FROM course_activities WHERE course_id = ${courseId} ORDER BY position, cmid`,
    sql<StructureRows["sections"]>`SELECT section_id, name FROM course_sections WHERE course_id = ${courseId} ORDER BY position`,
  ]);
  return structureAnswer(courseId, { row, acts: [...acts], sections: [...sections] });
}
