-- An event's body is stored once, in its events row; its deliveries reference it by event_id
-- (body NULL) instead of each carrying a copy. Deliveries without an event (job completion
-- webhooks) keep their own body. A smaller delivery row makes the fan-out INSERT and the outcome
-- UPDATE (which rewrites the row) cheaper. SQLite cannot drop NOT NULL in place: the table is rebuilt.
CREATE TABLE webhook_deliveries_027 (
  id              TEXT PRIMARY KEY,            -- also the Standard Webhooks webhook-id
  event_id        TEXT,
  event_name      TEXT NOT NULL,
  subscriber_id   TEXT NOT NULL,
  url             TEXT,                        -- explicit target (job webhooks); NULL: the subscriber's configured URL
  body            TEXT,                        -- NULL: the body is events.envelope of event_id
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','retrying','delivered','failed','dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER NOT NULL,
  last_status     INTEGER,
  last_error      TEXT,
  next_attempt_at INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  finished_at     INTEGER,
  lease_token     TEXT,
  lease_until     INTEGER,
  CHECK (body IS NOT NULL OR event_id IS NOT NULL)
);
-- A copy identical to its event's envelope becomes a reference; any other body is kept as it is.
INSERT INTO webhook_deliveries_027 (id, event_id, event_name, subscriber_id, url, body, status, attempts, max_attempts, last_status, last_error,
                                    next_attempt_at, created_at, updated_at, finished_at, lease_token, lease_until)
  SELECT d.id, d.event_id, d.event_name, d.subscriber_id, d.url,
         CASE WHEN d.event_id IS NOT NULL AND d.body = (SELECT e.envelope FROM events e WHERE e.id = d.event_id) THEN NULL ELSE d.body END,
         d.status, d.attempts, d.max_attempts, d.last_status, d.last_error, d.next_attempt_at, d.created_at, d.updated_at, d.finished_at,
         d.lease_token, d.lease_until
  FROM webhook_deliveries d;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_027 RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (subscriber_id, next_attempt_at) WHERE status IN ('pending','retrying');
CREATE INDEX webhook_deliveries_problem ON webhook_deliveries (updated_at) WHERE status IN ('failed','dead');
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;
-- Retention keeps an event while a delivery still references its body (sql.pruneEvents).
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id) WHERE event_id IS NOT NULL;
