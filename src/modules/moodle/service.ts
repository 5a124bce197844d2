import type { AppContext } from "../../context";
import { HttpError, validate } from "../../http/errors";
import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import type { Queue } from "../../queue";
import { courseStructureBody, enrolEvent, EVENT_TYPES, gradeEvent, userEvent, webhookBatch, type EventType } from "./model";
import type { z } from "zod";
import { dedupeKey, validateLogs, type LogRow } from "./normalize";

type UserEvent = z.output<typeof userEvent>;
type EnrolEvent = z.output<typeof enrolEvent>;
type GradeEvent = z.output<typeof gradeEvent>;

/**
 * The job this feature enqueues when it stored new logs; whoever registers a handler for it
 * (the recommender) processes them and keeps log_events.processed.
 */
export const PIPELINE_JOB = "moodle.pipeline";

/**
 * The pipeline job is the durable backstop (after a crash, or a failed drain): the recommender
 * drains right after each commit. Due this much later, one waiting job covers every batch of
 * that window, instead of an enqueue, a claim and a completion (three index updates each) per
 * drain cycle under live load.
 */
export const PIPELINE_BACKSTOP_MS = 1000;

const INSERT_LOG = `INSERT INTO log_events (dkey, batch_id, userid, relateduserid, courseid, eventname, component, action, target, objectid, edulevel, contextinstanceid, contextlevel, timecreated, other, enrich, raw, received_at, processed)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dkey) DO NOTHING`;

// Multi-row statements for big batches (imports, 100-log webhooks): fewer statement runs and
// fewer napi calls per row. Tiers so that a 100-log batch still takes the 50-row statement.
const MULTI_SIZES = [200, 50] as const;
const multiSql = (k: number) => INSERT_LOG.replace(/VALUES \(([^)]*)\)/, (_, one: string) => "VALUES " + Array.from({ length: k }, () => `(${one})`).join(", "));

/** Inserts logs (duplicates skipped by dkey); returns how many were new. Shared by the webhook, the jobs API and `ferry import`. */
export function insertLogs(db: Db, rows: LogRow[], batchId: string | null, now: number, processed = 0, inserted?: (row: LogRow, id: number) => void): number {
  const ins = prepared(db, INSERT_LOG);
  let n = 0;
  let start = 0;
  if (rows.length >= MULTI_SIZES[1]) {
    // The largest id before each statement: the rows one INSERT adds get the ids after it, in
    // VALUES order (rowid = max + 1; nobody else writes inside our transaction). So when all of
    // them were new their ids are known without RETURNING; when some were duplicates, the new
    // ones are read back by id.
    let maxId = prepared<[], number | null>(db, "SELECT max(id) FROM log_events").pluck().get() ?? 0;
    const seen = new Set<number>();
    outer: for (const k of MULTI_SIZES) {
      if (rows.length - start < k) continue;
      const multi = prepared(db, multiSql(k));
      const params: unknown[] = new Array(k * 19);
      for (; start + k <= rows.length; start += k) {
        seen.clear();
        for (let j = 0; j < k; j++) {
          const r = rows[start + j]!;
          const o = j * 19;
          params[o] = r.dkey; params[o + 1] = batchId; params[o + 2] = r.userid; params[o + 3] = r.relateduserid; params[o + 4] = r.courseid;
          params[o + 5] = r.eventname; params[o + 6] = r.component; params[o + 7] = r.action; params[o + 8] = r.target; params[o + 9] = r.objectid;
          params[o + 10] = r.edulevel; params[o + 11] = r.contextinstanceid; params[o + 12] = r.contextlevel; params[o + 13] = r.timecreated;
          params[o + 14] = r.other; params[o + 15] = r.enrich; params[o + 16] = r.raw; params[o + 17] = now; params[o + 18] = processed;
          seen.add(r.dkey);
        }
        // Two rows of one statement with the same dkey: the second is the duplicate.
        if (seen.size < k) break outer; // the row-by-row loop below takes it from here
        const changes = multi.run(...params).changes;
        if (changes === 0) continue;
        n += changes;
        if (changes === k) {
          if (inserted) for (let j = 0; j < k; j++) inserted(rows[start + j]!, maxId + 1 + j);
        } else if (inserted) {
          const byKey = new Map<number, LogRow>();
          for (let j = 0; j < k; j++) byKey.set(rows[start + j]!.dkey, rows[start + j]!);
          for (const got of prepared<[number], { id: number; dkey: number }>(db, "SELECT id, dkey FROM log_events WHERE id > ? ORDER BY id").iterate(maxId)) {
            inserted(byKey.get(got.dkey)!, got.id);
          }
        }
        maxId += changes;
      }
    }
  }
  for (let i = start; i < rows.length; i++) {
    const r = rows[i]!;
    const res = ins.run(r.dkey, batchId, r.userid, r.relateduserid, r.courseid, r.eventname, r.component, r.action, r.target, r.objectid, r.edulevel, r.contextinstanceid, r.contextlevel, r.timecreated, r.other, r.enrich, r.raw, now, processed);
    if (res.changes) {
      n++;
      inserted?.(r, Number(res.lastInsertRowid));
    }
  }
  return n;
}

/** Stores a batch and enqueues its pipeline job in the same transaction. */
export function storeBatch(db: Db, queue: Queue, rows: LogRow[], eventId: string | null, now: number): { accepted: number; duplicates: number } {
  if (eventId !== null) {
    const fresh = prepared(db, "INSERT INTO moodle_batches (event_id, received_at, logs) VALUES (?, ?, ?) ON CONFLICT (event_id) DO NOTHING").run(eventId, now, rows.length).changes;
    if (!fresh) return { accepted: 0, duplicates: rows.length };
  }
  const accepted = insertLogs(db, rows, eventId, now);
  // Erasure (\core\event\user_deleted): this feature's records of the user go now; the
  // pipeline removes their learner data and stored logs when it reaches the event.
  for (const r of rows) if (r.eventname === USER_DELETED) eraseMoodleUser(db, r.relateduserid ?? r.objectid);
  // One waiting pipeline job drains every pending event, so a batch adds one only when none waits
  // (a running job may have read the pending rows already, so it does not count).
  if (accepted > 0 && !prepared<[string], number>(db, "SELECT 1 FROM jobs WHERE kind = ? AND status IN ('queued', 'retry') LIMIT 1").pluck().get(PIPELINE_JOB)) {
    queue.enqueue(db, { kind: PIPELINE_JOB, payload: { batch: eventId, logs: accepted }, runAt: now + PIPELINE_BACKSTOP_MS });
  }
  return { accepted, duplicates: rows.length - accepted };
}

export const USER_DELETED = "\\core\\event\\user_deleted";

function eraseMoodleUser(db: Db, userId: number | null): void {
  if (userId === null || userId <= 0) return;
  prepared(db, "DELETE FROM moodle_users WHERE user_id = ?").run(userId);
  prepared(db, "DELETE FROM moodle_enrolments WHERE user_id = ?").run(userId);
  prepared(db, "DELETE FROM moodle_grades WHERE user_id = ?").run(userId);
}

/**
 * The envelope's common shapes (a logs array, event_id absent, a string or a number, timestamp
 * absent or a number) without the zod run: a strict subset of what webhookBatch accepts, with the
 * same output. Anything else goes through the schema, which stays the source of truth.
 */
export function fastBatch(body: unknown): { logs: unknown[]; event_id?: string } | null {
  if (!body || typeof body !== "object" || Array.isArray(body)) return null;
  const b = body as { logs?: unknown; event_id?: unknown; timestamp?: unknown };
  if (!Array.isArray(b.logs)) return null;
  const t = b.timestamp;
  if (t !== undefined && t !== null && !(typeof t === "number" && Number.isFinite(t))) return null;
  const id = b.event_id;
  if (id === undefined) return { logs: b.logs };
  if (typeof id === "string" && id.length >= 1 && id.length <= 200) return { logs: b.logs, event_id: id };
  if (typeof id === "number" && Number.isFinite(id)) return { logs: b.logs, event_id: String(id) };
  return null;
}

/** What the service writes, per database (SQLite: below; PostgreSQL: writer-pg.ts). Each call is one durable write. */
export interface MoodleWriter {
  batch(rows: LogRow[], eventId: string | null, now: number): Promise<{ accepted: number; duplicates: number }>;
  user(t: EventType, e: UserEvent, now: number): Promise<void>;
  /** `staff`: the enrolment's role makes the user staff in the course (the recommender's course model hears of it). */
  enrolment(t: EventType, e: EnrolEvent, staff: boolean, now: number): Promise<void>;
  /** `gradeRow(courseId)`: the user_graded log the grade feeds into the pipeline, once its course is known. */
  grade(t: EventType, e: GradeEvent, gradeRow: (courseId: number) => LogRow | null, now: number): Promise<void>;
  structure(courseId: number, contents: unknown[], now: number): Promise<Record<string, unknown>>;
}

const UPSERT_USER = `INSERT INTO moodle_users (user_id, username, firstname, lastname, email, idnumber, phone1, city, country, suspended, deleted, timecreated, timemodified, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, firstname = excluded.firstname, lastname = excluded.lastname,
           email = excluded.email, idnumber = excluded.idnumber, phone1 = excluded.phone1, city = excluded.city, country = excluded.country, suspended = excluded.suspended,
           deleted = excluded.deleted, timecreated = coalesce(excluded.timecreated, moodle_users.timecreated), timemodified = excluded.timemodified, updated_at = excluded.updated_at`;
const UPSERT_ENROLMENT = `INSERT INTO moodle_enrolments (enrollment_id, user_id, course_id, role_id, status, timestart, timeend, timecreated, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (enrollment_id) DO UPDATE SET user_id = excluded.user_id, course_id = excluded.course_id, role_id = excluded.role_id, status = excluded.status,
           timestart = excluded.timestart, timeend = excluded.timeend, timecreated = excluded.timecreated, updated_at = excluded.updated_at`;
const UPSERT_GRADE = `INSERT INTO moodle_grades (grade_id, user_id, item_id, item_name, finalgrade, feedback, grader, timecreated, timemodified, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (grade_id) DO UPDATE SET user_id = excluded.user_id, item_id = excluded.item_id, item_name = excluded.item_name, finalgrade = excluded.finalgrade,
           feedback = excluded.feedback, grader = excluded.grader, timecreated = excluded.timecreated, timemodified = excluded.timemodified, updated_at = excluded.updated_at`;

/** MoodleWriter on SQLite: each call one store.write (group commit), the statements run synchronously inside it. */
class SqliteMoodleWriter implements MoodleWriter {
  constructor(private ctx: AppContext) {}

  batch(rows: LogRow[], eventId: string | null, now: number) {
    return this.ctx.store.write((db) => storeBatch(db, this.ctx.queue, rows, eventId, now));
  }

  user(t: EventType, e: UserEvent, now: number) {
    return this.ctx.store.write((db) => {
      prepared(db, UPSERT_USER).run(e.userid, e.username, e.firstname, e.lastname, e.email, e.idnumber, e.phone1, e.city, e.country, e.suspended ? 1 : 0, e.deleted ? 1 : 0, e.timecreated, e.timemodified, now);
      this.ctx.bus.publish(db, { name: `moodle.${t}`, context: { userId: String(e.userid) }, data: e });
    });
  }

  enrolment(t: EventType, e: EnrolEvent, staff: boolean, now: number) {
    return this.ctx.store.write((db) => {
      prepared(db, UPSERT_ENROLMENT).run(e.enrollmentid, e.userid, e.courseid, e.roleid, e.status, e.timestart, e.timeend, e.timecreated, now);
      // Inside the write: the next pipeline batch may commit before this one's fsync returns.
      if (staff) this.ctx.capabilities.courseModel?.staffEnrolled(db, e.courseid, e.userid);
      this.ctx.bus.publish(db, { name: `moodle.${t}`, context: { userId: String(e.userid) }, data: e });
    });
  }

  grade(t: EventType, e: GradeEvent, gradeRow: (courseId: number) => LogRow | null, now: number) {
    return this.ctx.store.write((db) => {
      prepared(db, UPSERT_GRADE).run(e.gradeid, e.userid, e.itemid, e.itemname, e.finalgrade, e.feedback, e.grader, e.timecreated, e.timemodified, now);
      // The grade feeds the learner's score through the pipeline, as a user_graded event of its course.
      const courseId = e.courseid ?? prepared<[number], number | null>(db, "SELECT course_id FROM grade_items WHERE item_id = ?").pluck().get(e.itemid) ?? null;
      const row = courseId === null ? null : gradeRow(courseId);
      if (row) storeBatch(db, this.ctx.queue, [row], null, now);
      this.ctx.bus.publish(db, { name: `moodle.${t}`, context: { userId: String(e.userid) }, data: e });
    });
  }

  structure(courseId: number, contents: unknown[], now: number) {
    const model = courseModelOf(this.ctx);
    // Inside the write, so no later batch uses the old structure (a rollback only costs a reload).
    return this.ctx.store.write((db) => model.applyStructure(db, courseId, contents, now) as Record<string, unknown>);
  }
}

export function courseModelOf(ctx: AppContext) {
  const m = ctx.capabilities.courseModel;
  if (!m) throw new HttpError(503, "unavailable", "the recommender (course model) is not running");
  return m;
}

export class MoodleService {
  constructor(
    private ctx: AppContext,
    /** Chosen once by ctx.storage.kind (module.ts). */
    private writer: MoodleWriter = new SqliteMoodleWriter(ctx),
  ) {}

  /** POST /webhook/moodle-events. */
  async ingestBatch(body: unknown): Promise<{ status: "accepted"; event_id: string | null; events_received: number; accepted: number; duplicates: number }> {
    const logs = body && typeof body === "object" && !Array.isArray(body) ? (body as { logs?: unknown }).logs : undefined;
    if (logs === undefined || logs === null || (Array.isArray(logs) && logs.length === 0)) throw new HttpError(400, "no_logs", "No logs provided");
    const batch = fastBatch(body) ?? validate(webhookBatch, body);
    const rows = validateLogs(batch.logs);
    const eventId = batch.event_id ?? null;
    const now = Date.now();
    const r = await this.writer.batch(rows, eventId, now);
    return { status: "accepted", event_id: eventId, events_received: rows.length, accepted: r.accepted, duplicates: r.duplicates };
  }

  /** The jobs API's moodle.import: same validation and storage as the webhook. */
  async ingestLogs(logs: unknown[]): Promise<{ accepted: number; duplicates: number }> {
    const rows = validateLogs(logs);
    const now = Date.now();
    return this.writer.batch(rows, null, now);
  }

  /** POST /api/v1/events/moodle/{type}. */
  async typedEvent(type: string, body: unknown): Promise<{ status: "ok"; event: EventType }> {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw new HttpError(404, "unknown_event_type", `unknown Moodle event type "${type}"; known types: ${EVENT_TYPES.join(", ")}`, { known: EVENT_TYPES });
    }
    const t = type as EventType;
    const now = Date.now();
    const staffRoles = this.ctx.config().moodle.staff_role_ids;
    if (t === "user_created" || t === "user_updated") {
      await this.writer.user(t, validate(userEvent, body), now);
    } else if (t === "user_enrolled") {
      const e = validate(enrolEvent, body);
      await this.writer.enrolment(t, e, e.roleid !== null && staffRoles.includes(e.roleid), now);
    } else {
      const e = validate(gradeEvent, body);
      await this.writer.grade(t, e, (courseId) => gradeLogRow(e, body, courseId, now), now);
    }
    return { status: "ok", event: t };
  }

  async saveStructure(courseId: number, body: unknown) {
    const parsed = validate(courseStructureBody, body);
    const contents = Array.isArray(parsed) ? parsed : parsed.contents;
    if (!Array.isArray(parsed) && parsed.course_id !== null && parsed.course_id !== courseId) {
      throw new HttpError(422, "validation_failed", `course_id: the body is for course ${parsed.course_id}, the path names course ${courseId}`, [{ path: "course_id", message: `expected ${courseId}` }]);
    }
    courseModelOf(this.ctx);
    const summary = await this.writer.structure(courseId, contents, Date.now());
    return { status: "ok", ...summary };
  }

  getStructure(courseId: number) {
    return courseModelOf(this.ctx).readStructure(courseId);
  }
}

/** The user_graded log a grade_updated event feeds into the pipeline (null without a final grade). */
function gradeLogRow(e: GradeEvent, body: unknown, courseId: number, now: number): LogRow | null {
  if (e.finalgrade === null) return null;
  const time = e.timemodified ?? e.timecreated ?? Math.floor(now / 1000);
  const eventname = "\\core\\event\\user_graded";
  const other = JSON.stringify({ itemid: e.itemid, finalgrade: e.finalgrade, relateduserid: e.userid });
  return {
    // With the sender's key (local_ferry sends the same one in the batch) this row is the batch
    // log's duplicate, so one grade is never processed twice.
    dkey: dedupeKey({ idempotency_key: e.idempotency_key, userid: e.userid, courseid: courseId, eventname, contextinstanceid: null, objectid: e.gradeid, timecreated: time * 1000 + (Math.round(e.finalgrade * 1000) % 1000) }),
    userid: e.userid,
    relateduserid: e.userid,
    courseid: courseId,
    eventname,
    component: "core",
    action: "graded",
    target: "user",
    objectid: e.gradeid,
    edulevel: 1,
    contextinstanceid: null,
    contextlevel: 50,
    timecreated: time,
    other,
    enrich: e.grademax !== null ? JSON.stringify({ grademax: e.grademax }) : null,
    raw: JSON.stringify(body),
  };
}
