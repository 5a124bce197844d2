import { openSync, readSync, closeSync, statSync } from "node:fs";
import type { Store } from "../../store/db";
import type { Engine, EventRow } from "../recommender/engine";
import type { Learner } from "../recommender/state";
import { applyStructure } from "../recommender/structure";
import { validate } from "../../http/errors";
import { courseStructureBody } from "./model";
import { CsvReader, csvRowToLog, InputLineError, isLogstoreHeader, MAX_CSV_ROW } from "./csv";
import { RAW_TEXT, validateLogs, type LogRow } from "./normalize";
import { insertLogs } from "./service";

// Historical data (`ferry import`, `ferry evaluate`): a logstore_standard_log CSV export or a
// JSONL of observer payloads, streamed in chunks and sent through the same pipeline code as
// live events (Engine.processEvents), in big transactions.

export type LogFormat = "csv" | "jsonl";

export function detectFormat(path: string, head: string): LogFormat {
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return "jsonl";
  return head.trimStart().startsWith("{") ? "jsonl" : "csv";
}

/**
 * Streams the file's logs (raw objects, as the webhook would receive them) in batches.
 * `onProgress` gets bytes read so far.
 */
export function* readLogs(path: string, batchSize: number, onProgress?: (bytes: number) => void): Generator<unknown[]> {
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(4 * 1024 * 1024);
  const decoder = new TextDecoder("utf-8");
  let format: LogFormat | null = null;
  const csv = new CsvReader(true);
  let header: string[] | null = null;
  let keepLine = false;
  let pending = "";
  let out: unknown[] = [];
  let bytes = 0;
  let lineNo = 0;
  const fromJsonLine = (line: string) => {
    lineNo++;
    if (!line.trim()) return;
    let v: any;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new InputLineError(lineNo, `not valid JSON (${(err as Error).message})`);
    }
    if (v && Array.isArray(v.logs)) for (const l of v.logs) out.push(l);
    else out.push(v);
  };
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const text = n > 0 ? decoder.decode(buf.subarray(0, n), { stream: true }) : decoder.decode();
      bytes += n;
      format ??= detectFormat(path, text);
      if (format === "csv") {
        csv.push(text);
        if (n === 0) csv.end();
        const rows = csv.take();
        const lines = csv.takeRaw();
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          if (!header) {
            header = row.map((h) => h.trim());
            keepLine = isLogstoreHeader(header);
            continue;
          }
          const log = csvRowToLog(header, row);
          // The standard export's line is the raw copy as received (no JSON re-serialisation).
          if (keepLine) (log as { [RAW_TEXT]?: string })[RAW_TEXT] = lines[i]!;
          out.push(log);
        }
      } else {
        pending += text;
        const lines = pending.split("\n");
        pending = n === 0 ? "" : lines.pop()!;
        for (const line of lines) fromJsonLine(line);
        // A line without an end would otherwise be held whole, however big the file.
        if (pending.length > MAX_CSV_ROW) throw new InputLineError(lineNo + 1, `the line is longer than ${MAX_CSV_ROW} characters`);
      }
      while (out.length >= batchSize) {
        yield out.slice(0, batchSize);
        out = out.slice(batchSize);
      }
      onProgress?.(bytes);
      if (n === 0) break;
    }
    if (out.length) yield out;
  } finally {
    closeSync(fd);
  }
}

export interface ImportSummary {
  rows: number;
  inserted: number;
  duplicates: number;
  invalid: number;
  firstErrors: string[];
  transitions: number;
  seconds: number;
}

/** Validates what it can; invalid rows are counted and reported, not fatal. */
export function toRows(logs: unknown[], offset: number, summary: ImportSummary): LogRow[] {
  try {
    return validateLogs(logs);
  } catch {
    const rows: LogRow[] = [];
    for (let i = 0; i < logs.length; i++) {
      try {
        rows.push(validateLogs([logs[i]], `row ${offset + i + 1}`)[0]!);
      } catch (err) {
        summary.invalid++;
        if (summary.firstErrors.length < 5) summary.firstErrors.push((err as Error).message);
      }
    }
    return rows;
  }
}

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
  const text = require("node:fs").readFileSync(path, "utf8") as string;
  const parsed = validate(courseStructureBody, JSON.parse(text), "course structure file");
  const contents = Array.isArray(parsed) ? parsed : parsed.contents;
  const id = courseId ?? (Array.isArray(parsed) ? null : parsed.course_id);
  if (id === null || id === undefined) throw new Error("the course structure file has no course_id; pass --course-id");
  const summary = store.writeNow((db) => applyStructure(db, id, contents, Date.now()));
  engine.invalidateCourse(id);
  return { course_id: id, modules: summary.modules.length };
}

export function fileSize(path: string): number {
  return statSync(path).size;
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
