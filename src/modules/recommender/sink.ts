import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import { dropLearner, endEnrolment, eraseLearner } from "./erasure";

/**
 * Where the writes of a batch's last steps go (erasure, staff, unenrolment, stored answers):
 * straight into the SQLite transaction (SqliteSink), or collected for one PostgreSQL write
 * (PgOps in ops-pg.ts).
 */
export interface RecSink {
  erase(userId: number): void;
  moveCount(courseId: number, from: number, to: number, n: number): void;
  dropLearner(userId: number, courseId: number): void;
  endEnrolment(userId: number, courseId: number): void;
  recommendation(userId: number, courseId: number, moduleId: number, body: string, full: string, k: number, now: number): void;
}

const STORE_REC =
  "INSERT INTO recommendations (user_id, course_id, module_id, body, full, k, generated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, module_id, course_id) DO UPDATE SET body = excluded.body, full = excluded.full, k = excluded.k, generated_at = excluded.generated_at";

/** RecSink on SQLite: each write runs at once, in the caller's transaction. */
class SqliteSink implements RecSink {
  constructor(private db: Db) {}
  erase(userId: number): void {
    eraseLearner(this.db, userId);
  }
  moveCount(courseId: number, from: number, to: number, n: number): void {
    prepared(this.db, "UPDATE activity_moves SET n = ? WHERE course_id = ? AND from_cmid = ? AND to_cmid = ?").run(n, courseId, from, to);
  }
  dropLearner(userId: number, courseId: number): void {
    dropLearner(this.db, userId, courseId);
  }
  endEnrolment(userId: number, courseId: number): void {
    endEnrolment(this.db, userId, courseId);
  }
  recommendation(userId: number, courseId: number, moduleId: number, body: string, full: string, k: number, now: number): void {
    prepared(this.db, STORE_REC).run(userId, courseId, moduleId, body, full, k, now);
  }
}

const sinks = new WeakMap<Db, SqliteSink>();
export function sqliteSink(db: Db): SqliteSink {
  let s = sinks.get(db);
  if (!s) sinks.set(db, (s = new SqliteSink(db)));
  return s;
}
