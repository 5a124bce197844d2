-- What learners taught the next-activity ranking (ranking.ts, learning.ts), per course.
-- Moves between activities: how often learners went from one to the other, the discounted
-- reward and the grades that followed. Aggregates only: no user id.
CREATE TABLE activity_moves (
  course_id INTEGER NOT NULL,
  from_cmid INTEGER NOT NULL,
  to_cmid   INTEGER NOT NULL,
  n         INTEGER NOT NULL,
  rn        REAL NOT NULL,     -- recency-weighted count as of rt moves from from_cmid (ranking.ts)
  rt        INTEGER NOT NULL,
  ret       REAL NOT NULL,
  gsum      REAL NOT NULL,
  gn        INTEGER NOT NULL,
  PRIMARY KEY (course_id, from_cmid, to_cmid)
) WITHOUT ROWID;
-- The Hedge state of a course: each signal's weight (JSON array), the moves judged, all moves seen.
CREATE TABLE course_rankers (
  course_id INTEGER PRIMARY KEY,
  weights   TEXT NOT NULL,
  judged    INTEGER NOT NULL,
  moves     INTEGER NOT NULL
);
-- Learners whose enrolment in the course was deleted (\core\event\user_enrolment_deleted):
-- no recommendations, not trained on, until they are enrolled again.
CREATE TABLE course_unenrolled (
  course_id INTEGER NOT NULL,
  user_id   INTEGER NOT NULL,
  PRIMARY KEY (course_id, user_id)
) WITHOUT ROWID;
