-- The jobs API on PostgreSQL: the tables of SQLite migrations 021 (api_jobs, api_job_items; on SQLite
-- in the webhooks list, hence IF NOT EXISTS) and 025 (api_job_requests), same names and columns.
CREATE TABLE IF NOT EXISTS api_jobs (
  id             text    PRIMARY KEY,
  type           text    NOT NULL,
  status         text    NOT NULL CHECK (status IN ('queued','running','completed','failed','partially_completed')),
  total_lots     integer NOT NULL,
  completed_lots integer NOT NULL DEFAULT 0,
  failed_lots    integer NOT NULL DEFAULT 0,
  webhook_url    text,
  options        text,
  delivery_id    text,
  created_at     bigint  NOT NULL,
  started_at     bigint,
  finished_at    bigint
);

CREATE TABLE IF NOT EXISTS api_job_items (
  job_id      text    NOT NULL,
  idx         integer NOT NULL,
  item        text    NOT NULL,
  status      text    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','completed','failed')),
  result      text,
  error       text,
  finished_at bigint,
  PRIMARY KEY (job_id, idx)
);
-- The handler reads a job's pending items in order, a chunk at a time.
CREATE INDEX IF NOT EXISTS api_job_items_pending ON api_job_items (job_id, idx) WHERE status = 'pending';

-- Signed POST /api/v1/jobs requests seen within jobs.replay_window (key: sha256 of what the signature covers).
CREATE TABLE api_job_requests (
  key    text   PRIMARY KEY,
  job_id text   NOT NULL,
  at     bigint NOT NULL
);
CREATE INDEX api_job_requests_at ON api_job_requests (at);
