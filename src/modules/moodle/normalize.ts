import { HttpError, zodProblems } from "../../http/errors";
import { jsonLimitProblem } from "../../http/limits";
import { moodleLog, type MoodleLog } from "./model";
import { looksPhpSerialized, phpUnserialize } from "./php";

/** A log ready for log_events (and for the pipeline, which reads the same fields). */
export interface LogRow {
  dkey: number;
  userid: number;
  relateduserid: number | null;
  courseid: number;
  eventname: string;
  component: string | null;
  action: string | null;
  target: string | null;
  objectid: number | null;
  edulevel: number | null;
  contextinstanceid: number | null;
  contextlevel: number | null;
  timecreated: number;
  /** `other` as JSON text (parsed from object / JSON / PHP serialize). */
  other: string | null;
  /** Our plugin's enrichment (sectionid, modname, cmname, gradeitem, finalgrade, grademax, completionstate, grade, success) as JSON, when any. */
  enrich: string | null;
  raw: string;
}

export class OtherParseError extends Error {}

/**
 * A log object may carry its exact received text under this key (a logstore CSV line, as
 * `ferry import` reads it): stored as the raw copy instead of re-serialising the object.
 */
export const RAW_TEXT = Symbol("ferry.rawText");

/** `other` arrives as an object, a JSON string or a PHP serialize() string; returns JSON text or null. */
export function parseOther(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string") return JSON.stringify(value);
  const t = value.trim();
  if (t === "null" || t === "N;") return null;
  const c = t[0];
  if (c === "{" || c === "[" || c === '"') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      throw new OtherParseError("expected a JSON object (the string is not valid JSON)");
    }
    // The same limits as a request body (nesting, integers past 2^53), inside the text.
    const problem = jsonLimitProblem(parsed, t);
    if (problem) throw new OtherParseError(`JSON text at ${problem.path}: ${problem.message}`);
    return JSON.stringify(parsed);
  }
  if (looksPhpSerialized(t)) {
    try {
      return JSON.stringify(phpUnserialize(t));
    } catch (err) {
      throw new OtherParseError(`not a valid PHP serialize() string: ${(err as Error).message}`);
    }
  }
  // Free text: kept as a string.
  return JSON.stringify(t);
}

const MASK53 = (1n << 52n) - 1n;

function negativeHash(text: string): number {
  return -Number(BigInt.asUintN(64, BigInt(Bun.hash.wyhash(text))) & MASK53) - 1;
}

/**
 * Dedupe key: the sender's idempotency_key when present (hashed; the "key|" prefix keeps it apart
 * from content hashes), else the logstore id, else a negative 52-bit hash of the identifying fields.
 */
export function dedupeKey(log: { id?: number | null; idempotency_key?: string | null; userid: number; courseid: number; eventname: string; contextinstanceid: number | null; objectid: number | null; timecreated: number }): number {
  if (log.idempotency_key) return negativeHash(`key|${log.idempotency_key}`);
  if (log.id !== null && log.id !== undefined && log.id > 0) return log.id;
  return negativeHash(`${log.userid}|${log.courseid}|${log.eventname}|${log.contextinstanceid ?? ""}|${log.objectid ?? ""}|${log.timecreated}`);
}

const ENRICH = ["sectionid", "modname", "cmname", "gradeitem", "finalgrade", "grademax", "completionstate", "grade", "success"] as const;

/** Builds the row from a validated log; `raw` is the exact object received (extra fields kept). */
export function toRow(log: MoodleLog, raw: unknown, rawText?: string): LogRow {
  const eventname = log.eventname;
  let enrich: Record<string, unknown> | null = null;
  for (const k of ENRICH) {
    const v = log[k];
    if (v !== null && v !== undefined) (enrich ??= {})[k] = v;
  }
  const other = parseOther(log.other);
  return {
    dkey: dedupeKey({ ...log, eventname }),
    userid: log.userid,
    relateduserid: log.relateduserid,
    courseid: log.courseid,
    eventname,
    component: log.component,
    action: log.action,
    target: log.target,
    objectid: log.objectid,
    edulevel: log.edulevel,
    contextinstanceid: log.contextinstanceid,
    contextlevel: log.contextlevel,
    timecreated: log.timecreated,
    other,
    enrich: enrich ? JSON.stringify(enrich) : null,
    raw: rawText ?? JSON.stringify(raw),
  };
}

/** Fills a missing eventname from component/target/action (the spec's fallback). */
function withEventname(raw: unknown): unknown {
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    if ((o.eventname === undefined || o.eventname === null || o.eventname === "") && typeof o.component === "string" && typeof o.target === "string" && typeof o.action === "string") {
      return { ...o, eventname: `\\${o.component}\\event\\${o.target}_${o.action}` };
    }
  }
  return raw;
}

// Fast path for the common, clean shapes (what observers and exports send): it accepts a strict
// subset of what the zod schema accepts and produces the same values; anything else goes through
// zod, which stays the single source of truth for what is valid and for the error messages.
const INT_FIELDS = ["id", "objectid", "edulevel", "contextid", "contextlevel", "contextinstanceid", "relateduserid", "sectionid", "gradeitem", "completionstate"] as const;
const NUM_FIELDS = ["grade", "finalgrade", "grademax"] as const;
const STR_FIELDS = ["component", "action", "target", "objecttable", "crud", "modname", "cmname"] as const;
const NUM_TEXT = /^-?\d+(?:\.\d+)?$/;
const FAIL = Symbol("fail");

/** /^-?\d+$/ without a regex (hot in imports: ~13 calls per log). */
function isIntText(v: string): boolean {
  const n = v.length;
  let i = n > 0 && v.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (i >= n) return false;
  for (; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function fInt(v: unknown): number | null | typeof FAIL {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "number") return Number.isInteger(v) ? v : FAIL;
  if (typeof v === "string" && isIntText(v)) return Number(v);
  return FAIL;
}
function fNum(v: unknown): number | null | typeof FAIL {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : FAIL;
  if (typeof v === "string" && NUM_TEXT.test(v)) return Number(v);
  return FAIL;
}

export function fastLog(raw: unknown): MoodleLog | null {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  if (typeof o.eventname !== "string" || o.eventname.length === 0) return null;
  const out: Record<string, unknown> = { eventname: o.eventname, other: o.other };
  const key = o.idempotency_key;
  if (key === undefined || key === null) out.idempotency_key = null;
  else if (typeof key === "string" && key.length > 0 && key.length <= 200) out.idempotency_key = key;
  else return null;
  for (const k of ["userid", "courseid", "timecreated"] as const) {
    const v = fInt(o[k]);
    if (v === FAIL || v === null) return null;
    out[k] = v;
  }
  for (const k of INT_FIELDS) {
    const v = fInt(o[k]);
    if (v === FAIL) return null;
    out[k] = v;
  }
  for (const k of NUM_FIELDS) {
    const v = fNum(o[k]);
    if (v === FAIL) return null;
    out[k] = v;
  }
  for (const k of STR_FIELDS) {
    const v = o[k];
    if (v === undefined || v === null) out[k] = null;
    else if (typeof v === "string") out[k] = v;
    else return null;
  }
  const s = o.success;
  if (s === undefined || s === null || s === "") out.success = null;
  else if (typeof s === "boolean") out.success = s;
  else return null;
  return out as MoodleLog;
}

/** Validates logs[i] and builds rows; the first failing log becomes a 422 naming `logs[i].field`. */
export function validateLogs(logs: unknown[], prefix = "logs"): LogRow[] {
  const rows: LogRow[] = new Array(logs.length);
  for (let i = 0; i < logs.length; i++) {
    const raw = logs[i];
    let log = fastLog(raw);
    if (!log) {
      const r = moodleLog.safeParse(withEventname(raw));
      if (!r.success) {
        const problems = zodProblems(r.error, `${prefix}[${i}]`);
        const first = problems[0]!;
        throw new HttpError(422, "validation_failed", `invalid Moodle log: ${first.path}: ${first.message}`, problems);
      }
      log = r.data;
    }
    try {
      rows[i] = toRow(log, raw, (raw as { [RAW_TEXT]?: string })[RAW_TEXT]);
    } catch (err) {
      if (err instanceof OtherParseError) {
        throw new HttpError(422, "validation_failed", `invalid Moodle log: ${prefix}[${i}].other: ${err.message}`, [{ path: `${prefix}[${i}].other`, message: err.message }]);
      }
      throw err;
    }
  }
  return rows;
}
