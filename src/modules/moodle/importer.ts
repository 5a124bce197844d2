import { openSync, readSync, closeSync, statSync } from "node:fs";
import { CsvReader, csvRowToLog, InputLineError, isLogstoreHeader, MAX_CSV_ROW } from "./csv";
import { RAW_TEXT, validateLogs, type LogRow } from "./normalize";

// Historical data (`ferry import`, `ferry evaluate`): a logstore_standard_log CSV export or a
// JSONL of observer payloads, streamed in chunks as the webhook would receive them. The
// recommender's history.ts sends them through the same pipeline code as live events.

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
  // In a function of its own: its locals (the chunk's CSV fields, 21 strings a row) die when it
  // returns, instead of staying reachable from the suspended generator while the chunk is
  // processed (a full GC per chunk then had to trace the whole chunk twice, ~0.5 s each).
  const fromCsvText = (text: string, end: boolean) => {
    csv.push(text);
    if (end) csv.end();
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
  };
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const text = n > 0 ? decoder.decode(buf.subarray(0, n), { stream: true }) : decoder.decode();
      bytes += n;
      format ??= detectFormat(path, text);
      if (format === "csv") {
        fromCsvText(text, n === 0);
      } else {
        pending += text;
        const lines = pending.split("\n");
        pending = n === 0 ? "" : lines.pop()!;
        for (const line of lines) fromJsonLine(line);
        // A line without an end would otherwise be held whole, however big the file.
        if (pending.length > MAX_CSV_ROW) throw new InputLineError(lineNo + 1, `the line is longer than ${MAX_CSV_ROW} characters`);
      }
      // The chunk leaves `out` before it is yielded, so the generator holds none of it meanwhile.
      while (out.length >= batchSize) {
        const chunk = out.length === batchSize ? out : out.slice(0, batchSize);
        out = out.length === batchSize ? [] : out.slice(batchSize);
        yield chunk;
      }
      onProgress?.(bytes);
      if (n === 0) break;
    }
    if (out.length) {
      const chunk = out;
      out = [];
      yield chunk;
    }
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

export function fileSize(path: string): number {
  return statSync(path).size;
}
