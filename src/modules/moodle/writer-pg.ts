import { shardWorkKind } from "../../cluster/course-work";
import { shardOfCourse } from "../../cluster/rendezvous";
import type { AppContext } from "../../context";
import type { PostgresStorage } from "../../store/storage";
import type { PgTx } from "../../store/postgres/client";
import type { PgWriteContext } from "../../store/postgres/group-commit";
import type { EventType } from "./model";
import type { LogRow } from "./normalize";
import { courseModelOf, USER_DELETED, type MoodleWriter } from "./service";

// The moodle feature's writes on PostgreSQL (service.ts has them on SQLite). Any node accepts
// them; each is one write in the driver's group commit, so the route answers only after COMMIT.
// Stored events reach their course shard's owner through the batch's NOTIFY (shardWorkKind),
// with the owner's polling as the fallback; there is no pipeline job on PostgreSQL.

/** Inserts the logs not stored yet (by dkey, also within the batch), in order; returns the new rows' course ids. */
export async function insertLogsPg(tx: PgTx, rows: LogRow[], batchId: string | null, now: number): Promise<number[]> {
  if (!rows.length) return [];
  // One array per column through unnest(): 19 parameters whatever the batch size (a VALUES list
  // of 4,000 logs would be 76,000, past PostgreSQL's limit, and slower to parse); WITH ORDINALITY
  // keeps the batch's order, so ids follow it as on SQLite.
  const col = <T>(f: (r: LogRow) => T) => rows.map(f);
  const got = await tx<{ courseid: number }[]>`INSERT INTO log_events (dkey, batch_id, userid, relateduserid, courseid, eventname, component, action, target, objectid, edulevel, contextinstanceid, contextlevel, timecreated, other, enrich, raw, received_at, processed)
    SELECT dkey, ${batchId}, userid, relateduserid, courseid, eventname, component, action, target, objectid, edulevel, contextinstanceid, contextlevel, timecreated, other, enrich, raw, ${now}, 0
    FROM unnest(${tx.array(col((r) => r.dkey), 20)}::bigint[], ${tx.array(col((r) => r.userid), 20)}::bigint[], ${tx.array(col((r) => r.relateduserid), 20)}::bigint[], ${tx.array(col((r) => r.courseid), 20)}::bigint[],
      ${tx.array(col((r) => r.eventname), 25)}::text[], ${tx.array(col((r) => r.component), 25)}::text[], ${tx.array(col((r) => r.action), 25)}::text[], ${tx.array(col((r) => r.target), 25)}::text[],
      ${tx.array(col((r) => r.objectid), 20)}::bigint[], ${tx.array(col((r) => r.edulevel), 23)}::int[], ${tx.array(col((r) => r.contextinstanceid), 20)}::bigint[], ${tx.array(col((r) => r.contextlevel), 23)}::int[],
      ${tx.array(col((r) => r.timecreated), 20)}::bigint[], ${tx.array(col((r) => r.other), 25)}::text[], ${tx.array(col((r) => r.enrich), 25)}::text[], ${tx.array(col((r) => r.raw), 25)}::text[])
      WITH ORDINALITY AS u(dkey, userid, relateduserid, courseid, eventname, component, action, target, objectid, edulevel, contextinstanceid, contextlevel, timecreated, other, enrich, raw, ord)
    ORDER BY ord
    ON CONFLICT (dkey) DO NOTHING RETURNING courseid`;
  return got.map((g) => g.courseid);
}

/**
 * Stores a batch; the shards of its new events are told (one NOTIFY for the whole group commit).
 * Shared by the routes and `ferry import` on PostgreSQL; `shards` is cluster.shards.
 */
export async function storeBatchPg(tx: PgTx, w: PgWriteContext, rows: LogRow[], eventId: string | null, now: number, shards: number): Promise<{ accepted: number; duplicates: number }> {
  if (eventId !== null) {
    const fresh = await tx`INSERT INTO moodle_batches (event_id, received_at, logs) VALUES (${eventId}, ${now}, ${rows.length}) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
    if (!fresh.length) return { accepted: 0, duplicates: rows.length };
  }
  const courses = await insertLogsPg(tx, rows, eventId, now);
  // Erasure (\core\event\user_deleted): this feature's records of the user go now; the
  // pipeline removes their learner data and stored logs when it reaches the event.
  for (const r of rows) {
    const u = r.relateduserid ?? r.objectid;
    if (r.eventname !== USER_DELETED || u === null || u <= 0) continue;
    await tx`DELETE FROM moodle_users WHERE user_id = ${u}`;
    await tx`DELETE FROM moodle_enrolments WHERE user_id = ${u}`;
    await tx`DELETE FROM moodle_grades WHERE user_id = ${u}`;
  }
  for (const s of new Set(courses.map((c) => shardOfCourse(c, shards)))) w.notify(shardWorkKind(s));
  return { accepted: courses.length, duplicates: rows.length - courses.length };
}

export class PgMoodleWriter implements MoodleWriter {
  constructor(
    private ctx: AppContext,
    private storage: PostgresStorage,
  ) {}

  batch(rows: LogRow[], eventId: string | null, now: number) {
    return this.storage.driver.write((tx, w) => storeBatchPg(tx, w, rows, eventId, now, this.ctx.cluster.shards.count));
  }

  async user(t: EventType, e: Parameters<MoodleWriter["user"]>[1], now: number) {
    await this.storage.driver.write(async (tx, w) => {
      await tx`INSERT INTO moodle_users (user_id, username, firstname, lastname, email, idnumber, phone1, city, country, suspended, deleted, timecreated, timemodified, updated_at)
        VALUES (${e.userid}, ${e.username}, ${e.firstname}, ${e.lastname}, ${e.email}, ${e.idnumber}, ${e.phone1}, ${e.city}, ${e.country}, ${e.suspended ? 1 : 0}, ${e.deleted ? 1 : 0}, ${e.timecreated}, ${e.timemodified}, ${now})
        ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, firstname = excluded.firstname, lastname = excluded.lastname,
          email = excluded.email, idnumber = excluded.idnumber, phone1 = excluded.phone1, city = excluded.city, country = excluded.country, suspended = excluded.suspended,
          deleted = excluded.deleted, timecreated = coalesce(excluded.timecreated, moodle_users.timecreated), timemodified = excluded.timemodified, updated_at = excluded.updated_at`;
      await this.ctx.bus.publishPg(tx, w, { name: `moodle.${t}`, context: { userId: String(e.userid) }, data: e });
    });
  }

  async enrolment(t: EventType, e: Parameters<MoodleWriter["enrolment"]>[1], staff: boolean, now: number) {
    await this.storage.driver.write(async (tx, w) => {
      await tx`INSERT INTO moodle_enrolments (enrollment_id, user_id, course_id, role_id, status, timestart, timeend, timecreated, updated_at)
        VALUES (${e.enrollmentid}, ${e.userid}, ${e.courseid}, ${e.roleid}, ${e.status}, ${e.timestart}, ${e.timeend}, ${e.timecreated}, ${now})
        ON CONFLICT (enrollment_id) DO UPDATE SET user_id = excluded.user_id, course_id = excluded.course_id, role_id = excluded.role_id, status = excluded.status,
          timestart = excluded.timestart, timeend = excluded.timeend, timecreated = excluded.timecreated, updated_at = excluded.updated_at`;
      if (staff) await this.ctx.capabilities.courseModel?.staffEnrolled(tx, e.courseid, e.userid);
      await this.ctx.bus.publishPg(tx, w, { name: `moodle.${t}`, context: { userId: String(e.userid) }, data: e });
    });
  }

  async grade(t: EventType, e: Parameters<MoodleWriter["grade"]>[1], gradeRow: (courseId: number) => LogRow | null, now: number) {
    await this.storage.driver.write(async (tx, w) => {
      await tx`INSERT INTO moodle_grades (grade_id, user_id, item_id, item_name, finalgrade, feedback, grader, timecreated, timemodified, updated_at)
        VALUES (${e.gradeid}, ${e.userid}, ${e.itemid}, ${e.itemname}, ${e.finalgrade}, ${e.feedback}, ${e.grader}, ${e.timecreated}, ${e.timemodified}, ${now})
        ON CONFLICT (grade_id) DO UPDATE SET user_id = excluded.user_id, item_id = excluded.item_id, item_name = excluded.item_name, finalgrade = excluded.finalgrade,
          feedback = excluded.feedback, grader = excluded.grader, timecreated = excluded.timecreated, timemodified = excluded.timemodified, updated_at = excluded.updated_at`;
      const courseId = e.courseid ?? (await tx<{ course_id: number | null }[]>`SELECT course_id FROM grade_items WHERE item_id = ${e.itemid}`)[0]?.course_id ?? null;
      const row = courseId === null ? null : gradeRow(courseId);
      if (row) await storeBatchPg(tx, w, [row], null, now, this.ctx.cluster.shards.count);
      await this.ctx.bus.publishPg(tx, w, { name: `moodle.${t}`, context: { userId: String(e.userid) }, data: e });
    });
  }

  structure(courseId: number, contents: unknown[], now: number) {
    const model = courseModelOf(this.ctx);
    return this.storage.driver.write(async (tx) => (await model.applyStructure(tx, courseId, contents, now)) as Record<string, unknown>);
  }
}
