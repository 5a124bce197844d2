// A small RFC 4180 CSV reader (quotes, doubled quotes, newlines inside quotes) that works on
// chunks, so `ferry import` streams a large logstore export without holding it in memory.

export class CsvReader {
  private field = "";
  private row: string[] = [];
  private quoted = false;
  private afterQuote = false;
  private fieldStart = true;
  rows: string[][] = [];

  /** Feeds a chunk; complete rows accumulate in `rows` (take them with `take()`). */
  push(chunk: string): void {
    let field = this.field;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.quoted) {
        const q = chunk.indexOf('"', i);
        if (q < 0) {
          field += chunk.slice(i);
          i = n;
          break;
        }
        field += chunk.slice(i, q);
        i = q + 1;
        this.quoted = false;
        this.afterQuote = true;
        continue;
      }
      const ch = chunk.charCodeAt(i);
      if (ch === 34 /* " */) {
        if (this.afterQuote) field += '"'; // doubled quote inside a quoted field
        this.quoted = true;
        this.afterQuote = false;
        this.fieldStart = false;
        i++;
      } else if (ch === 44 /* , */) {
        this.row.push(field);
        field = "";
        this.afterQuote = false;
        this.fieldStart = true;
        i++;
      } else if (ch === 10 /* \n */ || ch === 13 /* \r */) {
        if (ch === 13 && chunk.charCodeAt(i + 1) === 10) i++;
        if (!(this.row.length === 0 && field === "" && this.fieldStart)) {
          this.row.push(field);
          this.rows.push(this.row);
        }
        this.row = [];
        field = "";
        this.afterQuote = false;
        this.fieldStart = true;
        i++;
      } else {
        // Plain run up to the next special character.
        let j = i + 1;
        while (j < n) {
          const c = chunk.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13 || c === 34) break;
          j++;
        }
        field += chunk.slice(i, j);
        this.afterQuote = false;
        this.fieldStart = false;
        i = j;
      }
    }
    this.field = field;
  }

  /** Flushes a last row without a trailing newline. */
  end(): void {
    if (this.row.length || this.field !== "") {
      this.row.push(this.field);
      this.rows.push(this.row);
    }
    this.row = [];
    this.field = "";
  }

  take(): string[][] {
    const r = this.rows;
    this.rows = [];
    return r;
  }
}

/** The 21 columns of logstore_standard_log as exported (see fixtures/moodle/course2_logstore_train.csv). */
export const LOGSTORE_COLUMNS = [
  "id", "eventname", "component", "action", "target", "objecttable", "objectid", "crud", "edulevel", "contextid", "contextlevel",
  "contextinstanceid", "userid", "courseid", "relateduserid", "anonymous", "other", "timecreated", "origin", "ip", "realuserid",
] as const;

/** A CSV row as a log object (strings; the log schema coerces them). */
export function csvRowToLog(header: readonly string[], row: string[]): Record<string, string | null> {
  const o: Record<string, string | null> = {};
  for (let i = 0; i < header.length; i++) {
    const v = row[i];
    o[header[i]!] = v === undefined || v === "" ? null : v;
  }
  return o;
}
