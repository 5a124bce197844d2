// A small RFC 4180 CSV reader (quotes, doubled quotes, newlines inside quotes) that works on
// chunks, so `ferry import` streams a large logstore export without holding it in memory.

export class CsvReader {
  private field = "";
  private row: string[] = [];
  private quoted = false;
  private afterQuote = false;
  private fieldStart = true;
  rows: string[][] = [];
  /** With `keepRaw`: each row's exact text (without its line break), parallel to `rows`. */
  raws: string[] = [];
  /** The current row's text from earlier chunks (keepRaw). */
  private rawCarry = "";

  constructor(private readonly keepRaw = false) {}

  /** Feeds a chunk; complete rows accumulate in `rows` (take them with `take()`). */
  push(chunk: string): void {
    let field = this.field;
    let i = 0;
    const n = chunk.length;
    let rowStart = 0;
    while (i < n) {
      // Fast path: at a row start, a whole line without quotes or CR is split natively
      // (a logstore export is almost all such lines).
      if (!this.quoted && this.fieldStart && field === "" && this.row.length === 0) {
        const nl = chunk.indexOf("\n", i);
        if (nl >= 0) {
          const line = chunk.slice(i, nl);
          if (line.indexOf('"') < 0 && line.indexOf("\r") < 0) {
            if (line !== "") {
              this.rows.push(line.split(","));
              if (this.keepRaw) this.raws.push(this.rawCarry + line);
            }
            this.rawCarry = "";
            this.afterQuote = false;
            i = nl + 1;
            rowStart = i;
            continue;
          }
        }
      }
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
        const lineEnd = i;
        if (ch === 13 && chunk.charCodeAt(i + 1) === 10) i++;
        if (!(this.row.length === 0 && field === "" && this.fieldStart)) {
          this.row.push(field);
          this.rows.push(this.row);
          if (this.keepRaw) this.raws.push(this.rawCarry + chunk.slice(rowStart, lineEnd));
        }
        this.rawCarry = "";
        rowStart = i + 1;
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
    if (this.keepRaw && rowStart < n) this.rawCarry += chunk.slice(rowStart);
  }

  /** Flushes a last row without a trailing newline. */
  end(): void {
    if (this.row.length || this.field !== "") {
      this.row.push(this.field);
      this.rows.push(this.row);
      if (this.keepRaw) this.raws.push(this.rawCarry);
    }
    this.rawCarry = "";
    this.row = [];
    this.field = "";
  }

  take(): string[][] {
    const r = this.rows;
    this.rows = [];
    return r;
  }

  /** The exact texts of the rows the last `take()` returned (keepRaw): call right after it. */
  takeRaw(): string[] {
    const r = this.raws;
    this.raws = [];
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
  let make = builders.get(header);
  if (!make) builders.set(header, (make = builder(header)));
  return make(row);
}

type RowBuilder = (row: string[]) => Record<string, string | null>;
const builders = new WeakMap<readonly string[], RowBuilder>();

/**
 * An object literal with the header's keys, compiled once per header: what the obvious
 * `o[header[i]] = …` loop builds, several times faster on a million rows (keys are quoted with
 * JSON.stringify, so any header text is safe).
 */
function builder(header: readonly string[]): RowBuilder {
  const fields = header.map((h, i) => `${JSON.stringify(h)}: f(r[${i}])`).join(", ");
  return new Function("f", `return (r) => ({ ${fields} });`)((v: string | undefined) => (v === undefined || v === "" ? null : v)) as RowBuilder;
}

/** True when the header is exactly the logstore's 21 columns in order: then a row's line is a self-describing raw copy. */
export function isLogstoreHeader(header: readonly string[]): boolean {
  return header.length === LOGSTORE_COLUMNS.length && header.every((h, i) => h === LOGSTORE_COLUMNS[i]);
}
