import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";

// Every SQL statement of the webhooks feature, prepared once per database.

export interface DeliveryRow {
  id: string;
  event_id: string | null;
  event_name: string;
  subscriber_id: string;
  url: string | null;
  /** The body bytes sent; for an event's delivery they are its events.envelope (stored once, see getDelivery). */
  body: string;
  status: "pending" | "retrying" | "delivered" | "failed" | "dead";
  attempts: number;
  max_attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  lease_token: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** What a claim returns: enough to sign and send the delivery. */
export type ClaimedRow = Pick<DeliveryRow, "id" | "event_id" | "event_name" | "subscriber_id" | "url" | "body" | "attempts" | "max_attempts">;

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

export interface NewDelivery {
  id: string;
  event_id: string | null;
  event_name: string;
  subscriber_id: string;
  url: string | null;
  /** An event's delivery stores no copy: its body is the event's envelope (events row of event_id). */
  body: string;
  max_attempts: number;
  /** Inserted already leased (handed to the engine in memory). */
  lease?: { token: string; until: number };
}

/** The state a finished attempt (or a delivery that cannot be attempted) leaves its delivery in. */
export interface DeliveryUpdate {
  id: string;
  token: string;
  status: DeliveryRow["status"];
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
}

const EVENT_CHUNK = 64;
const eventSqls: string[] = [];
const eventSql = (n: number) =>
  (eventSqls[n] ??=
  "INSERT INTO events (id, name, envelope, created_at) VALUES " + Array.from({ length: n }, () => "(?, ?, ?, ?)").join(", ") + " ON CONFLICT (id) DO NOTHING RETURNING id");

/** The events of a batch of publishes: one multi-row INSERT per 64; returns the ids that were new (a known id is skipped). */
export function insertEvents(db: Db, events: Array<{ id: string; name: string; envelope: string }>, now: number): Set<string> {
  const created = new Set<string>();
  for (let i = 0; i < events.length; i += EVENT_CHUNK) {
    const chunk = events.slice(i, i + EVENT_CHUNK);
    const params: unknown[] = [];
    for (const e of chunk) params.push(e.id, e.name, e.envelope, now);
    for (const id of prepared<unknown[], string>(db, eventSql(chunk.length)).pluck().all(...params)) created.add(id);
  }
  return created;
}

const INSERT_CHUNK = 32;
const insertSqls: string[] = [];
const insertSql = (n: number) =>
  (insertSqls[n] ??=
  `INSERT INTO webhook_deliveries (id, event_id, event_name, subscriber_id, url, body, status, attempts, max_attempts, next_attempt_at, lease_token, lease_until, created_at, updated_at) VALUES ` +
  Array.from({ length: n }, () => "(?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)").join(", "));

/**
 * The fan-out of events (or one job webhook): one multi-row INSERT per 32 deliveries, each leased
 * or not. A delivery of an event stores no body of its own (the event row holds it, once).
 */
export function insertDeliveries(db: Db, rows: NewDelivery[], now: number): void {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    const params: unknown[] = [];
    for (const d of chunk) params.push(d.id, d.event_id, d.event_name, d.subscriber_id, d.url, d.event_id === null ? d.body : null, d.max_attempts, now, d.lease?.token ?? null, d.lease?.until ?? null, now, now);
    prepared(db, insertSql(chunk.length)).run(...params);
  }
}

// A delivery's body: its own (job webhooks) or its event's envelope (stored once in events).
const BODY = "coalesce(body, (SELECT envelope FROM events WHERE events.id = webhook_deliveries.event_id)) AS body";

// The deliveries table is the webhook lease queue: a claim leases up to `limit` due deliveries
// of one target in one statement (webhook_deliveries_due covers the inner SELECT).
const CLAIM = `UPDATE webhook_deliveries SET lease_token = ?, lease_until = ?
  WHERE id IN (SELECT id FROM webhook_deliveries
               WHERE subscriber_id = ? AND status IN ('pending','retrying') AND next_attempt_at <= ? AND lease_token IS NULL
               ORDER BY next_attempt_at LIMIT ?)
  RETURNING id, event_id, event_name, subscriber_id, url, ${BODY}, attempts, max_attempts`;

export function claimDue(db: Db, subscriberId: string, limit: number, token: string, leaseUntil: number, now: number): ClaimedRow[] {
  return prepared<unknown[], ClaimedRow>(db, CLAIM).all(token, leaseUntil, subscriberId, now, limit);
}

/** When the next unleased delivery of a target is due (null: none waiting). */
export function nextDue(db: Db, subscriberId: string): number | null {
  return (
    prepared<[string], number | null>(
      db,
      "SELECT min(next_attempt_at) FROM webhook_deliveries WHERE subscriber_id = ? AND status IN ('pending','retrying') AND lease_token IS NULL",
    )
      .pluck()
      .get(subscriberId) ?? null
  );
}

/** Targets that have open deliveries (so a subscriber removed from config still gets its rows settled). */
export function openTargets(db: Db): string[] {
  return prepared<[], string>(db, "SELECT DISTINCT subscriber_id FROM webhook_deliveries WHERE status IN ('pending','retrying')").pluck().all();
}

/** At start: leases of a process that is gone are void (one daemon per database). Returns how many. */
export function releaseAllLeases(db: Db, now: number): number {
  return prepared(db, "UPDATE webhook_deliveries SET lease_token = NULL, lease_until = NULL, updated_at = ? WHERE status IN ('pending','retrying') AND lease_token IS NOT NULL").run(now).changes;
}

export function releaseLeases(db: Db, ids: string[]): void {
  prepared(db, "UPDATE webhook_deliveries SET lease_token = NULL, lease_until = NULL WHERE id IN (SELECT value FROM json_each(?))").run(JSON.stringify(ids));
}

// Set-based completion (graphile-worker's completeJobs): every finished delivery of a batch in
// one UPDATE … FROM json_each, guarded by its lease token; RETURNING names those still held.
const FINISH = `UPDATE webhook_deliveries AS d SET
    status = u.status, attempts = u.attempts, last_status = u.last_status, last_error = u.last_error,
    next_attempt_at = u.next_attempt_at, lease_token = NULL, lease_until = NULL, updated_at = @now,
    finished_at = CASE WHEN u.status IN ('delivered','failed','dead') THEN @now END
  FROM (SELECT value->>'$[0]' AS id, value->>'$[1]' AS token, value->>'$[2]' AS status, value->>'$[3]' AS attempts,
               value->>'$[4]' AS last_status, value->>'$[5]' AS last_error, value->>'$[6]' AS next_attempt_at
        FROM json_each(@json)) AS u
  WHERE d.id = u.id AND d.lease_token = u.token
  RETURNING id`;

/** Applies the outcomes of a batch; returns the ids whose lease was still held (the others were taken over). */
export function finishDeliveries(db: Db, updates: DeliveryUpdate[], now: number): Set<string> {
  if (updates.length === 0) return new Set();
  const json = JSON.stringify(updates.map((u) => [u.id, u.token, u.status, u.attempts, u.last_status, u.last_error, u.next_attempt_at]));
  return new Set(prepared<[{ now: number; json: string }], string>(db, FINISH).pluck().all({ now, json }));
}

const INSERT_ATTEMPTS = `INSERT INTO webhook_attempts (delivery_id, subscriber_id, attempt, started_at, duration_ms, status_code, outcome, error, response)
  SELECT value->>'$[0]', value->>'$[1]', value->>'$[2]', value->>'$[3]', value->>'$[4]', value->>'$[5]', value->>'$[6]', value->>'$[7]', value->>'$[8]'
  FROM json_each(?)`;

/** Every attempt record of a batch in one INSERT … SELECT. */
export function insertAttempts(db: Db, records: AttemptRecord[]): void {
  if (records.length === 0) return;
  const json = JSON.stringify(records.map((a) => [a.delivery_id, a.subscriber_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.outcome, a.error, a.response]));
  prepared(db, INSERT_ATTEMPTS).run(json);
}

export function getDelivery(db: Db, id: string): DeliveryRow | undefined {
  return prepared<[string], DeliveryRow>(
    db,
    `SELECT id, event_id, event_name, subscriber_id, url, ${BODY}, status, attempts, max_attempts, last_status, last_error, next_attempt_at,
            lease_token, lease_until, created_at, updated_at, finished_at FROM webhook_deliveries WHERE id = ?`,
  ).get(id);
}

/** Back to pending with a fresh attempt budget (same id, same body); false unless it was finished. */
export function resetForReplay(db: Db, id: string, now: number): boolean {
  return (
    prepared(
      db,
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, finished_at = NULL, lease_token = NULL, lease_until = NULL, updated_at = ?
       WHERE id = ? AND status IN ('delivered','failed','dead')`,
    ).run(now, now, id).changes === 1
  );
}

export function attemptsOf(db: Db, id: string): Array<Omit<AttemptRecord, "delivery_id"> & { id: number }> {
  return prepared<[string], any>(
    db,
    "SELECT id, subscriber_id, attempt, started_at, duration_ms, status_code, outcome, error, response FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
  ).all(id);
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
  const json = JSON.stringify(ids);
  prepared(db, "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))").run(json);
  prepared(db, "DELETE FROM webhook_deliveries WHERE id IN (SELECT value FROM json_each(?))").run(json);
  return ids.length;
}

/**
 * Events past the retention period (the id guards idempotent publish) that no delivery references
 * any more: a delivery's body is its event's envelope, so an event lives as long as its deliveries.
 */
export function pruneEvents(db: Db, before: number, limit: number): number {
  return prepared(
    db,
    `DELETE FROM events WHERE id IN (SELECT id FROM events e WHERE created_at < ?
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) LIMIT ?)`,
  ).run(before, limit).changes;
}
