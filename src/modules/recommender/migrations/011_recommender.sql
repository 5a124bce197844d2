-- Learner states, transitions, recommendations and Q-table snapshots (spec/moodle-recommender.md).
-- Sections (modules) of a course in display order; implicit modules are not stored.
CREATE TABLE course_sections (
  course_id  INTEGER NOT NULL,
  section_id INTEGER NOT NULL,
  position   INTEGER NOT NULL,
  name       TEXT,
  PRIMARY KEY (course_id, section_id)
) WITHOUT ROWID;
-- Activities (course modules). in_structure = 1 when the current structure lists it; seen in
-- events only = 0 (kept for history, never recommended while a structure is known).
CREATE TABLE course_activities (
  cmid         INTEGER PRIMARY KEY,
  course_id    INTEGER NOT NULL,
  section_id   INTEGER,
  modname      TEXT,
  name         TEXT,
  position     INTEGER NOT NULL DEFAULT 0,
  in_structure INTEGER NOT NULL DEFAULT 0,
  uses         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX course_activities_course ON course_activities (course_id, section_id);
-- Grade items: which activity a Moodle grade item belongs to, and its maximum.
CREATE TABLE grade_items (
  item_id   INTEGER PRIMARY KEY,
  course_id INTEGER,
  cmid      INTEGER,
  itemtype  TEXT,
  grademax  REAL
);
CREATE TABLE course_staff (
  course_id INTEGER NOT NULL,
  user_id   INTEGER NOT NULL,
  PRIMARY KEY (course_id, user_id)
) WITHOUT ROWID;
-- Per learner x course: what the state computation needs across modules (recent actions, grades).
CREATE TABLE learners (
  user_id        INTEGER NOT NULL,
  course_id      INTEGER NOT NULL,
  current_module INTEGER,
  data           TEXT NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (user_id, course_id)
) WITHOUT ROWID;
CREATE TABLE user_states (
  user_id    INTEGER NOT NULL,
  course_id  INTEGER NOT NULL,
  module_id  INTEGER NOT NULL,
  level      INTEGER NOT NULL,
  module_idx INTEGER NOT NULL,
  progress   REAL NOT NULL,
  score      REAL NOT NULL,
  phase      INTEGER NOT NULL,
  engagement INTEGER NOT NULL,
  data       TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, course_id, module_id)
) WITHOUT ROWID;
-- Every transition in processing order; seq is what snapshots and replay count in.
CREATE TABLE state_history (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id   INTEGER NOT NULL,
  user_id    INTEGER NOT NULL,
  course_id  INTEGER NOT NULL,
  module_id  INTEGER NOT NULL,
  state      TEXT NOT NULL,
  action     INTEGER,
  reward     REAL,
  next_state TEXT NOT NULL,
  event_time INTEGER NOT NULL
);
-- A rowid table with the small columns first: the answers are a few KB, and in a WITHOUT ROWID
-- table every lookup would walk their overflow pages.
CREATE TABLE recommendations (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL,
  course_id    INTEGER NOT NULL,
  module_id    INTEGER NOT NULL,
  k            INTEGER NOT NULL,
  generated_at INTEGER NOT NULL,
  body         TEXT NOT NULL,   -- the GET answer with the configured top_k
  full         TEXT NOT NULL,   -- the same with the 10 best, for ?k=
  UNIQUE (user_id, module_id, course_id)
);
CREATE INDEX recommendations_course ON recommendations (user_id, course_id);
CREATE TABLE qtable_snapshots (
  id         INTEGER PRIMARY KEY,
  last_seq   INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  data       TEXT NOT NULL
);
