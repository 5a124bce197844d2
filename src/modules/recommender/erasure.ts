import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";

// Honouring deletion requests from Moodle (README, "How deletion requests are honoured").

/**
 * \core\event\user_deleted: the user's learner records, states, recommendations and stored log
 * events are deleted. Their state_history rows are anonymised, not deleted: user, event and time
 * are cleared, the (state, action, reward, next state) tuple stays, because the Q-tables are
 * built (and after a restart replayed) from exactly those tuples — aggregates with no identity.
 * The per-course move counts (activity_moves) hold no user id either.
 */
export function eraseLearner(db: Db, userId: number): void {
  prepared(db, "DELETE FROM learners WHERE user_id = ?").run(userId);
  prepared(db, "DELETE FROM user_states WHERE user_id = ?").run(userId);
  prepared(db, "DELETE FROM recommendations WHERE user_id = ?").run(userId);
  prepared(db, "UPDATE state_history SET user_id = 0, event_id = 0, event_time = 0 WHERE user_id = ?").run(userId);
  prepared(db, "DELETE FROM course_unenrolled WHERE user_id = ?").run(userId);
  prepared(db, "DELETE FROM course_staff WHERE user_id = ?").run(userId);
  prepared(db, "DELETE FROM log_events WHERE userid = ? OR relateduserid = ?").run(userId, userId);
}

/**
 * \core\event\user_enrolment_deleted: the learner's answers for that course end (GET answers
 * "No recommendations available yet") and their events there are not trained on until they are
 * enrolled again (course_unenrolled, kept by the pipeline).
 */
export function endEnrolment(db: Db, userId: number, courseId: number): void {
  prepared(db, "INSERT OR IGNORE INTO course_unenrolled (course_id, user_id) VALUES (?, ?)").run(courseId, userId);
  prepared(db, "DELETE FROM recommendations WHERE user_id = ? AND course_id = ?").run(userId, courseId);
}

/** A user who became staff in a course: their learner records and answers there go. */
export function dropLearner(db: Db, userId: number, courseId: number): void {
  prepared(db, "DELETE FROM learners WHERE user_id = ? AND course_id = ?").run(userId, courseId);
  prepared(db, "DELETE FROM user_states WHERE user_id = ? AND course_id = ?").run(userId, courseId);
  prepared(db, "DELETE FROM recommendations WHERE user_id = ? AND course_id = ?").run(userId, courseId);
}
