import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";

// Every SQL statement of the webhooks feature, prepared once per database.

export interface DeliveryRow {
  id: string;
  queue_job_id: number | null;
  event_id: string | null;
  event_name: string;
  subscriber_id: string;
  url: string | null;
  body: string;
  status: "pending" | "retrying" | "delivered" | "failed" | "dead";
  attempts: number;
  max_attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface AttemptRecord {
  delivery_id: string;
  subscriber_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  outcome: "delivered" | "retry" | "failed" | "dead" | "disabled";
  error: string | null;
  response: string | null;
}

export function insertEvent(db: Db, id: string, name: string, envelope: string, now: number): boolean {
  return prepared(db, "INSERT INTO events (id, name, envelope, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING").run(id, name, envelope, now).changes === 1;
}

export function insertDelivery(db: Db, d: Pick<DeliveryRow, "id" | "queue_job_id" | "event_id" | "event_name" | "subscriber_id" | "url" | "body" | "max_attempts" | "created_at">): void {
  prepared(
    db,
    `INSERT INTO webhook_deliveries (id, queue_job_id, event_id, event_name, subscriber_id, url, body, status, attempts, max_attempts, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
  ).run(d.id, d.queue_job_id, d.event_id, d.event_name, d.subscriber_id, d.url, d.body, d.max_attempts, d.created_at, d.created_at, d.created_at);
}

export function getDelivery(db: Db, id: string): DeliveryRow | undefined {
  return prepared<[string], DeliveryRow>(db, "SELECT * FROM webhook_deliveries WHERE id = ?").get(id);
}

export function insertAttempt(db: Db, a: AttemptRecord): void {
  prepared(
    db,
    `INSERT INTO webhook_attempts (delivery_id, subscriber_id, attempt, started_at, duration_ms, status_code, outcome, error, response)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(a.delivery_id, a.subscriber_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.outcome, a.error, a.response);
}

/** Records an attempt's effect on its delivery; `finished` for delivered/failed/dead. */
export function updateDeliveryAfterAttempt(
  db: Db,
  id: string,
  status: DeliveryRow["status"],
  attempt: number,
  lastStatus: number | null,
  lastError: string | null,
  nextAttemptAt: number | null,
  now: number,
): void {
  prepared(
    db,
    `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ?, updated_at = ?,
       finished_at = CASE WHEN ? IN ('delivered','failed','dead') THEN ? ELSE NULL END
     WHERE id = ?`,
  ).run(status, attempt, lastStatus, lastError, nextAttemptAt, now, status, now, id);
}

/** updateDeliveryAfterAttempt for the common case, a delivered attempt (no CASE, constants inlined). */
export function markDelivered(db: Db, id: string, attempt: number, lastStatus: number, now: number): void {
  prepared(
    db,
    `UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status = ?, last_error = NULL, next_attempt_at = NULL, updated_at = ?, finished_at = ?
     WHERE id = ?`,
  ).run(attempt, lastStatus, now, now, id);
}

export function setNextAttempt(db: Db, id: string, at: number, now: number): void {
  prepared(db, "UPDATE webhook_deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ?").run(at, now, id);
}

export function resetForReplay(db: Db, id: string, queueJobId: number, now: number): void {
  prepared(
    db,
    `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, queue_job_id = ?, next_attempt_at = ?, finished_at = NULL, updated_at = ? WHERE id = ?`,
  ).run(queueJobId, now, now, id);
}

export function attemptsOf(db: Db, id: string): Array<Omit<AttemptRecord, "delivery_id"> & { id: number }> {
  return prepared<[string], any>(
    db,
    "SELECT id, subscriber_id, attempt, started_at, duration_ms, status_code, outcome, error, response FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
  ).all(id);
}

/** Defers every waiting job of a subscriber's kind while its circuit is open (one statement instead of a claim each). */
export function deferKind(db: Db, kind: string, until: number): number {
  return prepared(db, "UPDATE jobs SET run_at = ? WHERE kind = ? AND status IN ('queued','retry') AND run_at < ?").run(until, kind, until).changes;
}

export function loadDisabled(db: Db): Array<{ subscriber_id: string; disabled_at: number; disabled_reason: string | null; disabled_url: string | null }> {
  return prepared<[], any>(db, "SELECT subscriber_id, disabled_at, disabled_reason, disabled_url FROM webhook_subscriber_state WHERE disabled = 1").all();
}

export function setDisabled(db: Db, id: string, disabled: boolean, reason: string | null, url: string | null, now: number): void {
  prepared(
    db,
    `INSERT INTO webhook_subscriber_state (subscriber_id, disabled, disabled_at, disabled_reason, disabled_url) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (subscriber_id) DO UPDATE SET disabled = excluded.disabled, disabled_at = excluded.disabled_at,
       disabled_reason = excluded.disabled_reason, disabled_url = excluded.disabled_url`,
  ).run(id, disabled ? 1 : 0, disabled ? now : null, reason, url);
}

export function lastOutcomes(db: Db): Array<{ subscriber_id: string; last_success: number | null; last_failure: number | null }> {
  return prepared<[], any>(
    db,
    `SELECT subscriber_id, max(CASE WHEN outcome = 'delivered' THEN started_at END) AS last_success,
            max(CASE WHEN outcome != 'delivered' THEN started_at END) AS last_failure
     FROM webhook_attempts GROUP BY subscriber_id`,
  ).all();
}

// ---- monitoring ----

export function attemptStats(db: Db, since: number): Array<{ subscriber_id: string; attempted: number; retried: number }> {
  return prepared<[number], any>(
    db,
    "SELECT subscriber_id, count(*) AS attempted, sum(outcome = 'retry') AS retried FROM webhook_attempts WHERE started_at >= ? GROUP BY subscriber_id",
  ).all(since);
}

export function finishedStats(db: Db, since: number): Array<{ subscriber_id: string; status: string; n: number }> {
  return prepared<[number], any>(
    db,
    "SELECT subscriber_id, status, count(*) AS n FROM webhook_deliveries WHERE finished_at >= ? GROUP BY subscriber_id, status",
  ).all(since);
}

export function openStats(db: Db): Array<{ subscriber_id: string; status: string; n: number }> {
  return prepared<[], any>(
    db,
    // Two halves, each matching one partial index exactly (an IN over all four statuses would scan the table).
    `SELECT subscriber_id, status, count(*) AS n FROM webhook_deliveries WHERE status IN ('pending','retrying') GROUP BY subscriber_id, status
     UNION ALL
     SELECT subscriber_id, status, count(*) AS n FROM webhook_deliveries WHERE status IN ('failed','dead') GROUP BY subscriber_id, status`,
  ).all();
}

export function latencies(db: Db, since: number, cap: number): Array<{ subscriber_id: string; duration_ms: number }> {
  return prepared<[number, number], any>(
    db,
    "SELECT subscriber_id, duration_ms FROM webhook_attempts WHERE started_at >= ? AND status_code IS NOT NULL ORDER BY started_at DESC LIMIT ?",
  ).all(since, cap);
}

export function failures(db: Db, since: number, limit: number, subscriber: string | null): DeliveryRow[] {
  return prepared<unknown[], DeliveryRow>(
    db,
    `SELECT * FROM webhook_deliveries WHERE status IN ('failed','dead') AND updated_at >= ? AND (? IS NULL OR subscriber_id = ?)
     ORDER BY updated_at DESC LIMIT ?`,
  ).all(since, subscriber, subscriber, limit);
}

export function failuresInWindow(db: Db, since: number, until: number, subscriber: string | null, statuses: string[], limit: number): string[] {
  return prepared<unknown[], string>(
    db,
    `SELECT id FROM webhook_deliveries WHERE status IN ('failed','dead') AND updated_at >= ? AND updated_at <= ? AND (? IS NULL OR subscriber_id = ?)
       AND (status = ? OR status = ?) ORDER BY updated_at LIMIT ?`,
  )
    .pluck()
    .all(since, until, subscriber, subscriber, statuses[0] ?? "", statuses[1] ?? "", limit);
}

// ---- retention ----

export function pruneDelivered(db: Db, before: number, limit: number): number {
  const ids = prepared<[number, number], string>(db, "SELECT id FROM webhook_deliveries WHERE finished_at < ? AND status = 'delivered' LIMIT ?")
    .pluck()
    .all(before, limit);
  for (const id of ids) {
    prepared(db, "DELETE FROM webhook_attempts WHERE delivery_id = ?").run(id);
    prepared(db, "DELETE FROM webhook_deliveries WHERE id = ?").run(id);
  }
  return ids.length;
}

export function pruneEvents(db: Db, before: number, limit: number): number {
  return prepared(
    db,
    `DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.created_at < ?
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) LIMIT ?)`,
  ).run(before, limit).changes;
}
