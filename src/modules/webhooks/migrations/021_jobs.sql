-- Jobs API (spec/outgoing-webhooks.md "Jobs API"). The queue's own table is `jobs`, hence api_.
CREATE TABLE api_jobs (
  id             TEXT PRIMARY KEY,
  type           TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','partially_completed')),
  total_lots     INTEGER NOT NULL,
  completed_lots INTEGER NOT NULL DEFAULT 0,
  failed_lots    INTEGER NOT NULL DEFAULT 0,
  webhook_url    TEXT,
  options        TEXT,
  delivery_id    TEXT,
  created_at     INTEGER NOT NULL,
  started_at     INTEGER,
  finished_at    INTEGER
);

CREATE TABLE api_job_items (
  job_id      TEXT NOT NULL,
  idx         INTEGER NOT NULL,
  item        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','completed','failed')),
  result      TEXT,
  error       TEXT,
  finished_at INTEGER,
  PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
