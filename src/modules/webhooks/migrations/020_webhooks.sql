-- Outgoing webhooks (spec/outgoing-webhooks.md). Times are unix milliseconds.
-- Every published event, kept for idempotency of POST /api/v1/events and for replay.
CREATE TABLE events (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  envelope   TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- One row per (event, subscriber) pair or per completion webhook; body bytes fixed at creation.
CREATE TABLE webhook_deliveries (
  id              TEXT PRIMARY KEY,            -- also the Standard Webhooks webhook-id
  queue_job_id    INTEGER,
  event_id        TEXT,
  event_name      TEXT NOT NULL,
  subscriber_id   TEXT NOT NULL,
  url             TEXT,                        -- explicit target (job webhooks); NULL: the subscriber's configured URL
  body            TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','retrying','delivered','failed','dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER NOT NULL,
  last_status     INTEGER,
  last_error      TEXT,
  next_attempt_at INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  finished_at     INTEGER
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
-- Only indexes some query needs (sql.ts): each one costs every delivery an entry write or two.
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (status) WHERE status IN ('pending','retrying');
CREATE INDEX webhook_deliveries_problem ON webhook_deliveries (updated_at) WHERE status IN ('failed','dead');
-- Partial: pending rows (finished_at NULL) cost no index entry; every query on it has a finished_at range.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE webhook_attempts (
  id            INTEGER PRIMARY KEY,
  delivery_id   TEXT NOT NULL,
  subscriber_id TEXT NOT NULL,
  attempt       INTEGER NOT NULL,
  started_at    INTEGER NOT NULL,
  duration_ms   REAL NOT NULL,
  status_code   INTEGER,
  outcome       TEXT NOT NULL,                 -- delivered | retry | failed | dead | disabled
  error         TEXT,
  response      TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
CREATE INDEX webhook_attempts_time ON webhook_attempts (started_at);

-- Persisted per-subscriber state: a 410 disables a subscriber until its URL changes in config.
CREATE TABLE webhook_subscriber_state (
  subscriber_id   TEXT PRIMARY KEY,
  disabled        INTEGER NOT NULL DEFAULT 0,
  disabled_at     INTEGER,
  disabled_reason TEXT,
  disabled_url    TEXT
);
