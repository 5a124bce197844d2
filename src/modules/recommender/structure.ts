import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import type { CourseContents } from "../moodle/model";
import { NOT_LEARNABLE } from "./course";

export interface StructureSummary {
  course_id: number;
  module_scope: "section";
  modules: Array<{ module_id: number; position: number; name: string | null; delegated: boolean; activities: Array<{ activity_id: number; modname: string; name: string | null }> }>;
}


/**
 * Sections in display order: each top-level section, with the delegated sections of its
 * mod_subsection activities right after it (that is where Moodle shows them). Sections without a
 * learning activity are not modules.
 */
export function orderSections(contents: CourseContents): CourseContents {
  const byId = new Map(contents.map((s) => [s.id, s]));
  const delegatedByItem = new Map<number, (typeof contents)[number]>();
  for (const s of contents) if (s.component === "mod_subsection" && s.itemid !== null) delegatedByItem.set(s.itemid, s);
  const top = contents.filter((s) => s.component !== "mod_subsection").sort((a, b) => (a.section ?? 0) - (b.section ?? 0));
  const out: CourseContents = [];
  const seen = new Set<number>();
  const visit = (s: (typeof contents)[number]) => {
    if (seen.has(s.id)) return;
    seen.add(s.id);
    out.push(s);
    for (const m of s.modules) {
      if (m.modname !== "subsection") continue;
      let child = m.instance !== null ? delegatedByItem.get(m.instance) : undefined;
      const cd = typeof m.customdata === "string" ? safe(m.customdata) : m.customdata;
      const sid = Number((cd as { sectionid?: unknown } | null)?.sectionid);
      if (!child && Number.isFinite(sid)) child = byId.get(sid);
      if (child) visit(child);
    }
  };
  for (const s of top) visit(s);
  for (const s of contents) visit(s); // delegated sections whose parent was not listed
  return out;
}

function safe(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return null;
  }
}

/** Replaces the course's sections and marks which activities the structure lists. */
export function applyStructure(db: Db, courseId: number, contents: CourseContents, now: number): StructureSummary {
  const ordered = orderSections(contents);
  prepared(db, "INSERT INTO course_structures (course_id, contents, updated_at) VALUES (?, ?, ?) ON CONFLICT (course_id) DO UPDATE SET contents = excluded.contents, updated_at = excluded.updated_at").run(
    courseId,
    JSON.stringify(contents),
    now,
  );
  prepared(db, "DELETE FROM course_sections WHERE course_id = ?").run(courseId);
  prepared(db, "UPDATE course_activities SET in_structure = 0 WHERE course_id = ?").run(courseId);
  const insSection = prepared(db, "INSERT INTO course_sections (course_id, section_id, position, name) VALUES (?, ?, ?, ?)");
  const upAct = prepared(
    db,
    `INSERT INTO course_activities (cmid, course_id, section_id, modname, name, position, in_structure, uses) VALUES (?, ?, ?, ?, ?, ?, 1, 0)
     ON CONFLICT (cmid) DO UPDATE SET course_id = excluded.course_id, section_id = excluded.section_id, modname = excluded.modname, name = excluded.name, position = excluded.position, in_structure = 1`,
  );
  const summary: StructureSummary = { course_id: courseId, module_scope: "section", modules: [] };
  let position = 0;
  let actPos = 0;
  for (const s of ordered) {
    const learnable = s.modules.filter((m) => !NOT_LEARNABLE.has(m.modname));
    for (const m of s.modules) upAct.run(m.id, courseId, s.id, m.modname, m.name ?? null, actPos++);
    if (learnable.length === 0) continue;
    insSection.run(courseId, s.id, position, s.name ?? null);
    summary.modules.push({
      module_id: s.id,
      position: position++,
      name: s.name ?? null,
      delegated: s.component === "mod_subsection",
      activities: learnable.map((m) => ({ activity_id: m.id, modname: m.modname, name: m.name ?? null })),
    });
  }
  return summary;
}

/** The rows a structure answer is made of (read by readStructure here and readStructurePg). */
export interface StructureRows {
  row: { contents: string; updated_at: number } | undefined;
  acts: Array<{ cmid: number; section_id: number | null; modname: string | null; name: string | null; in_structure: number }>;
  sections: Array<{ section_id: number; name: string | null }>;
}

/** The structure as ferry uses it (GET), or the implicit-module description when none was posted. */
export function readStructure(db: Db, courseId: number): Record<string, unknown> {
  return structureAnswer(courseId, {
    row: prepared<[number], { contents: string; updated_at: number }>(db, "SELECT contents, updated_at FROM course_structures WHERE course_id = ?").get(courseId),
    acts: prepared<[number], StructureRows["acts"][number]>(db, "SELECT cmid, section_id, modname, name, in_structure FROM course_activities WHERE course_id = ? ORDER BY position, cmid").all(courseId),
    sections: prepared<[number], StructureRows["sections"][number]>(db, "SELECT section_id, name FROM course_sections WHERE course_id = ? ORDER BY position").all(courseId),
  });
}

/** The GET answer from its rows, on either driver. */
export function structureAnswer(courseId: number, { row, acts, sections }: StructureRows): Record<string, unknown> {
  if (!row) {
    if (sections.length) {
      return {
        course_id: courseId,
        module_scope: "section",
        source: "events (sectionid enrichment of the Moodle plugin); no structure posted",
        modules: sections.map((s, i) => ({ module_id: s.section_id, position: i, name: s.name, activities: acts.filter((a) => a.section_id === s.section_id).map((a) => ({ activity_id: a.cmid, modname: a.modname, name: a.name })) })),
        updated_at: null,
      };
    }
    return {
      course_id: courseId,
      module_scope: "course",
      source: "implicit: no structure known, all activities of the course form one module whose id is the course id",
      modules: [{ module_id: courseId, position: 0, name: null, activities: acts.filter((a) => a.modname && !NOT_LEARNABLE.has(a.modname)).map((a) => ({ activity_id: a.cmid, modname: a.modname, name: a.name })) }],
      updated_at: null,
    };
  }
  return {
    course_id: courseId,
    module_scope: "section",
    source: "posted course structure (core_course_get_contents)",
    modules: sections.map((s, i) => ({
      module_id: s.section_id,
      position: i,
      name: s.name,
      activities: acts.filter((a) => a.section_id === s.section_id && a.in_structure && a.modname && !NOT_LEARNABLE.has(a.modname)).map((a) => ({ activity_id: a.cmid, modname: a.modname, name: a.name })),
    })),
    not_in_structure: acts.filter((a) => !a.in_structure).map((a) => ({ activity_id: a.cmid, modname: a.modname, note: "seen in events, not in the current structure: kept for history, never recommended" })),
    contents: JSON.parse(row.contents),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
