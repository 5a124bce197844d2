-- Signed POST /api/v1/jobs requests seen within jobs.replay_window: a repeat answers the job it made.
-- key = sha256 of what the signature covers (the raw body; for legacy body signatures, the items).
CREATE TABLE api_job_requests (
  key    TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX api_job_requests_at ON api_job_requests (at);
