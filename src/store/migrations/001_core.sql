-- Durable job queue (DESIGN.md "Storage and the queue"). Times are unix milliseconds.
CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,
  payload      TEXT    NOT NULL,
  status       TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','running','retry','done','dead')),
  run_at       INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  lease_until  INTEGER,
  lease_token  TEXT,
  last_error   TEXT,
  dedupe_key   TEXT UNIQUE,
  result       TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX jobs_due ON jobs (kind, run_at) WHERE status IN ('queued', 'retry');
CREATE INDEX jobs_running ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status = 'done';
