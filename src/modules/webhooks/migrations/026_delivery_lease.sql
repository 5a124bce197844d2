-- The deliveries table becomes the webhook lease queue (one owner per delivery's state): a claim
-- sets lease_token/lease_until, an outcome clears them. Deliveries are no longer queue jobs.
ALTER TABLE webhook_deliveries ADD COLUMN lease_token TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN lease_until INTEGER;
ALTER TABLE webhook_deliveries DROP COLUMN queue_job_id;
-- Open deliveries per target in due order: the claim's index (replaces the status-only one).
DROP INDEX webhook_deliveries_open;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (subscriber_id, next_attempt_at) WHERE status IN ('pending','retrying');
-- Open deliveries always have a due time (pending ones from before this migration included).
UPDATE webhook_deliveries SET next_attempt_at = coalesce(next_attempt_at, created_at) WHERE status IN ('pending','retrying');
-- One-time hand-over: the queue jobs that used to drive these deliveries (kind webhook:<id>) are
-- obsolete; their deliveries are picked up from this table.
DELETE FROM jobs WHERE kind LIKE 'webhook:%';
-- Events are kept for publish idempotency only (a delivery carries its own body), so nothing looks
-- deliveries up by event any more: one index entry less per delivery.
DROP INDEX webhook_deliveries_event;
