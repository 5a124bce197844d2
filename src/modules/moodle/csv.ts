// A small RFC 4180 CSV reader (quotes, doubled quotes, newlines inside quotes) that works on
// chunks, so `ferry import` streams a large logstore export without holding it in memory. A
// broken file is an error naming its line, never a silent merge of the rest of the file into one
// field: a quote still open at the end, or a field or row past its cap (which also bounds memory).

/** The longest field accepted (characters); Moodle's `other` column is far below this. */
export const MAX_CSV_FIELD = 1 << 20;
/** The longest row accepted (characters, all fields). */
export const MAX_CSV_ROW = 4 << 20;

/** A broken input file (CSV or JSONL), with the line to look at. */
export class InputLineError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

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
  /** Physical line (1-based) at the read position, where the current row began, and where the open quote began. */
  private line = 1;
  private rowLine = 1;
  private quoteLine = 1;
  /** Characters of the current row held so far (all its fields). */
  private rowChars = 0;

  constructor(
    private readonly keepRaw = false,
    private readonly maxField = MAX_CSV_FIELD,
    private readonly maxRow = MAX_CSV_ROW,
  ) {}

  private checkField(field: string): void {
    if (field.length <= this.maxField) return;
    const hint = this.quoted ? ` (a quote opened on line ${this.quoteLine} and was never closed?)` : "";
    throw new InputLineError(this.rowLine, `a field is longer than ${this.maxField} characters${hint}`);
  }

  private checkRow(extra: number): void {
    if (this.rowChars + extra > this.maxRow) throw new InputLineError(this.rowLine, `the row is longer than ${this.maxRow} characters`);
  }

  /** Feeds a chunk; complete rows accumulate in `rows` (take them with `take()`). Throws InputLineError on a broken file. */
  push(chunk: string): void {
    let field = this.field;
    let i = 0;
    const n = chunk.length;
    let rowStart = 0;
    let nextNl = -1;
    while (i < n) {
      // Fast path: at a row start, a whole line without quotes or CR is split natively
      // (a logstore export is almost all such lines).
      if (!this.quoted && this.fieldStart && field === "" && this.row.length === 0) {
        const nl = chunk.indexOf("\n", i);
        if (nl >= 0) {
          const line = chunk.slice(i, nl);
          if (line.indexOf('"') < 0 && line.indexOf("\r") < 0) {
            this.rowLine = this.line;
            this.checkRow(this.rawCarry.length + line.length);
            if (line !== "") {
              const fields = line.split(",");
              if (line.length > this.maxField) for (const f of fields) this.checkField(f);
              this.rows.push(fields);
              if (this.keepRaw) this.raws.push(this.rawCarry + line);
            }
            this.rawCarry = "";
            this.rowChars = 0;
            this.afterQuote = false;
            this.line++;
            this.rowLine = this.line;
            i = nl + 1;
            rowStart = i;
            continue;
          }
        }
      }
      if (this.quoted) {
        const q = chunk.indexOf('"', i);
        const to = q < 0 ? n : q;
        // Newlines inside quotes still count as lines; `nextNl` is reused across the pieces of a
        // row (its end-of-row newline), so the chunk is scanned for them about once.
        if (nextNl < i) nextNl = chunk.indexOf("\n", i);
        while (nextNl >= 0 && nextNl < to) {
          this.line++;
          nextNl = chunk.indexOf("\n", nextNl + 1);
        }
        field += chunk.slice(i, to);
        this.checkField(field);
        if (q < 0) {
          i = n;
          break;
        }
        i = q + 1;
        this.quoted = false;
        this.afterQuote = true;
        continue;
      }
      const ch = chunk.charCodeAt(i);
      if (ch === 34 /* " */) {
        if (this.afterQuote) field += '"'; // doubled quote inside a quoted field
        if (this.fieldStart) this.quoteLine = this.line; // where the quoted field began
        this.quoted = true;
        this.afterQuote = false;
        this.fieldStart = false;
        i++;
      } else if (ch === 44 /* , */) {
        this.rowChars += field.length + 1;
        this.checkRow(0);
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
        this.rowChars = 0;
        rowStart = i + 1;
        this.row = [];
        field = "";
        this.afterQuote = false;
        this.fieldStart = true;
        this.line++;
        this.rowLine = this.line;
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
        this.checkField(field);
        this.afterQuote = false;
        this.fieldStart = false;
        i = j;
      }
    }
    this.field = field;
    if (this.keepRaw && rowStart < n) {
      this.rawCarry += chunk.slice(rowStart);
      if (this.rawCarry.length > this.maxRow) throw new InputLineError(this.rowLine, `the row is longer than ${this.maxRow} characters`);
    }
  }

  /** Flushes a last row without a trailing newline; a quote still open here is an error. */
  end(): void {
    if (this.quoted) {
      throw new InputLineError(this.quoteLine, "a quoted field opened here is not closed at the end of the file");
    }
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
