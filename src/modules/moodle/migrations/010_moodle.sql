-- Moodle ingest (spec/moodle-recommender.md). Times are unix milliseconds unless named *_time (Moodle seconds).
-- One row per accepted batch event_id: a repeated event_id is a duplicate as a whole.
CREATE TABLE moodle_batches (
  event_id    TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL,
  logs        INTEGER NOT NULL
);
-- Raw logs as received. dkey: the logstore id when present, else a negative 63-bit hash of
-- userid, courseid, eventname, contextinstanceid, objectid, timecreated (one unique index for both).
CREATE TABLE log_events (
  id                INTEGER PRIMARY KEY,
  dkey              INTEGER NOT NULL UNIQUE,
  batch_id          TEXT,
  userid            INTEGER NOT NULL,
  relateduserid     INTEGER,
  courseid          INTEGER NOT NULL,
  eventname         TEXT NOT NULL,
  component         TEXT,
  action            TEXT,
  target            TEXT,
  objectid          INTEGER,
  edulevel          INTEGER,
  contextinstanceid INTEGER,
  contextlevel      INTEGER,
  timecreated       INTEGER NOT NULL,
  other             TEXT,
  enrich            TEXT,
  raw               TEXT NOT NULL,
  received_at       INTEGER NOT NULL,
  processed         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX log_events_pending ON log_events (courseid, timecreated, id) WHERE processed = 0;

CREATE TABLE moodle_users (
  user_id      INTEGER PRIMARY KEY,
  username     TEXT, firstname TEXT, lastname TEXT, email TEXT, idnumber TEXT,
  phone1       TEXT, city TEXT, country TEXT,
  suspended    INTEGER NOT NULL DEFAULT 0,
  deleted      INTEGER NOT NULL DEFAULT 0,
  timecreated  INTEGER, timemodified INTEGER,
  updated_at   INTEGER NOT NULL
);
CREATE TABLE moodle_enrolments (
  enrollment_id INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL,
  course_id     INTEGER NOT NULL,
  role_id       INTEGER,
  status        INTEGER,
  timestart     INTEGER, timeend INTEGER, timecreated INTEGER,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX moodle_enrolments_user ON moodle_enrolments (user_id, course_id);
CREATE TABLE moodle_grades (
  grade_id     INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL,
  item_id      INTEGER NOT NULL,
  item_name    TEXT,
  finalgrade   REAL,
  feedback     TEXT,
  grader       INTEGER,
  timecreated  INTEGER, timemodified INTEGER,
  updated_at   INTEGER NOT NULL
);

-- Course structure: the posted core_course_get_contents output, and what ferry derived from it.
CREATE TABLE course_structures (
  course_id  INTEGER PRIMARY KEY,
  contents   TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
