import { readFileSync } from "node:fs";
import { validate } from "../../http/errors";
import type { Store } from "../../store/db";
import { courseStructureBody } from "../moodle/model";
import type { LogRow } from "../moodle/normalize";
import { insertLogs } from "../moodle/service";
import type { Engine, EventRow } from "./engine";
import type { Learner } from "./state";
import { applyStructure } from "./structure";

// History through the live pipeline (`ferry import`, `ferry evaluate`): logs stored by the
// moodle feature's insertLogs, processed by the same Engine.processEvents as live batches, in
// the same transaction (so they are stored as processed).

/**
 * Stores new rows as processed and runs them through the pipeline in the same transaction.
 * With `deferred`, recommendation refreshes are collected there instead (the import refreshes
 * each learner once at the end rather than once per chunk).
 */
export function ingestRows(store: Store, engine: Engine, rows: LogRow[], now: number, deferred?: Map<Learner, Set<number>>): { inserted: number; transitions: number } {
  return store.writeNow((db) => {
    const fresh: EventRow[] = [];
    // The stored row itself becomes the pipeline's EventRow (a LogRow has every field it reads).
    const inserted = insertLogs(db, rows, null, now, 1, (r, id) => {
      (r as LogRow & { id: number }).id = id;
      fresh.push(r as LogRow & { id: number });
    });
    // Per course, in event-time order (as the live job does).
    fresh.sort((a, b) => a.courseid - b.courseid || a.timecreated - b.timecreated || a.id - b.id);
    try {
      const r = engine.processEvents(db, fresh, { now, refresh: !deferred });
      if (deferred) {
        for (const [l, mods] of r.touched) {
          let set = deferred.get(l);
          if (!set) deferred.set(l, (set = new Set()));
          for (const m of mods) set.add(m);
        }
      }
      return { inserted, transitions: r.transitions };
    } catch (err) {
      engine.resetCaches(false);
      throw err;
    }
  });
}

export function loadStructureFile(store: Store, engine: Engine, path: string, courseId?: number): { course_id: number; modules: number } {
  const text = readFileSync(path, "utf8");
  const parsed = validate(courseStructureBody, JSON.parse(text), "course structure file");
  const contents = Array.isArray(parsed) ? parsed : parsed.contents;
  const id = courseId ?? (Array.isArray(parsed) ? null : parsed.course_id);
  if (id === null || id === undefined) throw new Error("the course structure file has no course_id; pass --course-id");
  const summary = store.writeNow((db) => applyStructure(db, id, contents, Date.now()));
  engine.invalidateCourse(id);
  return { course_id: id, modules: summary.modules.length };
}

/** Refreshes the deferred learners' recommendations, in transactions of `chunk` learners. */
export function refreshDeferred(store: Store, engine: Engine, deferred: Map<Learner, Set<number>>, chunk = 20_000): number {
  let n = 0;
  const all = [...deferred];
  for (let i = 0; i < all.length; i += chunk) {
    const part = new Map(all.slice(i, i + chunk));
    n += store.writeNow((db) => engine.refresh(db, part, Date.now()));
  }
  deferred.clear();
  return n;
}
