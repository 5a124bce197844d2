import type { PgExec, PgTx } from "../../store/postgres/client";
import type { AttemptRecord, ClaimedRow, DeliveryRow, DeliveryUpdate, NewDelivery } from "./sql";

// Every SQL statement of the webhooks feature on PostgreSQL: the units of work of sql.ts, the
// same tables and meanings, set-based over unnest() arrays (one parameter per column, however
// many rows) so a batch costs one statement. Reads take the pool or a transaction.

const TEXT = 25;
const INT8 = 20;
const INT4 = 23;
const FLOAT8 = 701;

/** The events of a batch of publishes in one INSERT; the ids that were new (a known id, or a repeat in the batch, is skipped). */
export async function insertEvents(tx: PgTx, events: Array<{ id: string; name: string; envelope: string }>, now: number): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  // In id order: two nodes inserting overlapping batches lock the ids in the same order (no deadlock).
  events = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = await tx<{ id: string }[]>`INSERT INTO events (id, name, envelope, created_at)
    SELECT u.id, u.name, u.envelope, ${now}::bigint
    FROM unnest(${tx.array(events.map((e) => e.id), TEXT)}::text[], ${tx.array(events.map((e) => e.name), TEXT)}::text[],
                ${tx.array(events.map((e) => e.envelope), TEXT)}::text[]) AS u(id, name, envelope)
    ON CONFLICT (id) DO NOTHING RETURNING id`;
  return new Set(rows.map((r) => r.id));
}

/** The fan-out in one INSERT; an event's delivery stores no body (its event row holds it once). */
export async function insertDeliveries(tx: PgTx, rows: NewDelivery[], now: number): Promise<void> {
  if (rows.length === 0) return;
  await tx`INSERT INTO webhook_deliveries (id, event_id, event_name, subscriber_id, url, body, status, attempts, max_attempts, next_attempt_at, lease_token, lease_until, created_at, updated_at)
    SELECT u.id, u.event_id, u.event_name, u.subscriber_id, u.url, u.body, 'pending', 0, u.max_attempts, ${now}::bigint, u.lease_token, u.lease_until, ${now}::bigint, ${now}::bigint
    FROM unnest(${tx.array(rows.map((d) => d.id), TEXT)}::text[], ${tx.array(rows.map((d) => d.event_id) as string[], TEXT)}::text[],
                ${tx.array(rows.map((d) => d.event_name), TEXT)}::text[], ${tx.array(rows.map((d) => d.subscriber_id), TEXT)}::text[],
                ${tx.array(rows.map((d) => d.url) as string[], TEXT)}::text[], ${tx.array(rows.map((d) => (d.event_id === null ? d.body : null)) as string[], TEXT)}::text[],
                ${tx.array(rows.map((d) => d.max_attempts), INT4)}::integer[], ${tx.array(rows.map((d) => d.lease?.token ?? null) as string[], TEXT)}::text[],
                ${tx.array(rows.map((d) => d.lease?.until ?? null) as number[], INT8)}::bigint[])
      AS u(id, event_id, event_name, subscriber_id, url, body, max_attempts, lease_token, lease_until)`;
}

/**
 * Leases up to `limit` due deliveries of one target: unleased ones and those whose lease lapsed
 * (a node that died mid-attempt). SKIP LOCKED: claimers on other nodes never wait for or share a row.
 */
export async function claimDue(tx: PgTx, subscriberId: string, limit: number, token: string, leaseUntil: number, now: number): Promise<ClaimedRow[]> {
  const rows = await tx<ClaimedRow[]>`WITH next AS (
      SELECT id FROM webhook_deliveries
      WHERE subscriber_id = ${subscriberId} AND status IN ('pending','retrying') AND next_attempt_at <= ${now}
        AND (lease_token IS NULL OR lease_until <= ${now})
      ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    UPDATE webhook_deliveries d SET lease_token = ${token}, lease_until = ${leaseUntil}
    FROM next WHERE d.id = next.id
    RETURNING d.id, d.event_id, d.event_name, d.subscriber_id, d.url,
              coalesce(d.body, (SELECT e.envelope FROM events e WHERE e.id = d.event_id)) AS body, d.attempts, d.max_attempts`;
  return [...rows];
}

/** When a target's next open delivery can be claimed: its due time, or its lease's end if leased (null: none open). */
export async function nextDue(tx: PgExec, subscriberId: string): Promise<number | null> {
  const [row] = await tx<{ at: number | null }[]>`SELECT min(CASE WHEN lease_token IS NULL THEN next_attempt_at ELSE greatest(next_attempt_at, lease_until) END) AS at
    FROM webhook_deliveries WHERE subscriber_id = ${subscriberId} AND status IN ('pending','retrying')`;
  return row?.at ?? null;
}

/** Targets that have open deliveries (so a subscriber removed from config still gets its rows settled). */
export async function openTargets(sql: PgExec): Promise<string[]> {
  const rows = await sql<{ subscriber_id: string }[]>`SELECT DISTINCT subscriber_id FROM webhook_deliveries WHERE status IN ('pending','retrying')`;
  return rows.map((r) => r.subscriber_id);
}

/** Gives up this node's leases (shutdown, stale hand-overs): only where the row still carries our token. */
export async function releaseLeases(tx: PgTx, leases: Array<{ id: string; token: string }>): Promise<number> {
  if (leases.length === 0) return 0;
  const rows = await tx`UPDATE webhook_deliveries d SET lease_token = NULL, lease_until = NULL
    FROM unnest(${tx.array(leases.map((l) => l.id), TEXT)}::text[], ${tx.array(leases.map((l) => l.token), TEXT)}::text[]) AS u(id, token)
    WHERE d.id = u.id AND d.lease_token = u.token RETURNING d.id`;
  return rows.length;
}

/** The outcomes of a batch in one UPDATE, each guarded by its lease token; the ids whose lease was still held. */
export async function finishDeliveries(tx: PgTx, updates: DeliveryUpdate[], now: number): Promise<Set<string>> {
  if (updates.length === 0) return new Set();
  const rows = await tx<{ id: string }[]>`UPDATE webhook_deliveries AS d SET
      status = u.status, attempts = u.attempts, last_status = u.last_status, last_error = u.last_error,
      next_attempt_at = u.next_attempt_at, lease_token = NULL, lease_until = NULL, updated_at = ${now},
      finished_at = CASE WHEN u.status IN ('delivered','failed','dead') THEN ${now}::bigint END
    FROM unnest(${tx.array(updates.map((u) => u.id), TEXT)}::text[], ${tx.array(updates.map((u) => u.token), TEXT)}::text[],
                ${tx.array(updates.map((u) => u.status), TEXT)}::text[], ${tx.array(updates.map((u) => u.attempts), INT4)}::integer[],
                ${tx.array(updates.map((u) => u.last_status) as number[], INT4)}::integer[], ${tx.array(updates.map((u) => u.last_error) as string[], TEXT)}::text[],
                ${tx.array(updates.map((u) => u.next_attempt_at) as number[], INT8)}::bigint[])
      AS u(id, token, status, attempts, last_status, last_error, next_attempt_at)
    WHERE d.id = u.id AND d.lease_token = u.token
    RETURNING d.id`;
  return new Set(rows.map((r) => r.id));
}

/** Every attempt record of a batch in one INSERT. */
export async function insertAttempts(tx: PgTx, records: AttemptRecord[]): Promise<void> {
  if (records.length === 0) return;
  await tx`INSERT INTO webhook_attempts (delivery_id, subscriber_id, attempt, started_at, duration_ms, status_code, outcome, error, response)
    SELECT * FROM unnest(${tx.array(records.map((a) => a.delivery_id), TEXT)}::text[], ${tx.array(records.map((a) => a.subscriber_id), TEXT)}::text[],
                         ${tx.array(records.map((a) => a.attempt), INT4)}::integer[], ${tx.array(records.map((a) => a.started_at), INT8)}::bigint[],
                         ${tx.array(records.map((a) => a.duration_ms), FLOAT8)}::double precision[], ${tx.array(records.map((a) => a.status_code) as number[], INT4)}::integer[],
                         ${tx.array(records.map((a) => a.outcome), TEXT)}::text[], ${tx.array(records.map((a) => a.error) as string[], TEXT)}::text[],
                         ${tx.array(records.map((a) => a.response) as string[], TEXT)}::text[])`;
}

export async function getDelivery(sql: PgExec, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await sql<DeliveryRow[]>`SELECT id, event_id, event_name, subscriber_id, url,
      coalesce(body, (SELECT envelope FROM events WHERE events.id = webhook_deliveries.event_id)) AS body, status, attempts, max_attempts,
      last_status, last_error, next_attempt_at, lease_token, lease_until, created_at, updated_at, finished_at
    FROM webhook_deliveries WHERE id = ${id}`;
  return row;
}

/** Back to pending with a fresh attempt budget (same id, same body); false unless it was finished (a concurrent replay won). */
export async function resetForReplay(tx: PgTx, id: string, now: number): Promise<boolean> {
  const rows = await tx`UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ${now}, finished_at = NULL, lease_token = NULL, lease_until = NULL, updated_at = ${now}
    WHERE id = ${id} AND status IN ('delivered','failed','dead') RETURNING id`;
  return rows.length === 1;
}

export async function attemptsOf(sql: PgExec, id: string): Promise<Array<Omit<AttemptRecord, "delivery_id"> & { id: number }>> {
  return [
    ...(await sql<Array<Omit<AttemptRecord, "delivery_id"> & { id: number }>>`SELECT id, subscriber_id, attempt, started_at, duration_ms, status_code, outcome, error, response
      FROM webhook_attempts WHERE delivery_id = ${id} ORDER BY id`),
  ];
}

export async function loadDisabled(sql: PgExec): Promise<Array<{ subscriber_id: string; disabled_at: number; disabled_reason: string | null; disabled_url: string | null }>> {
  return [...(await sql<any[]>`SELECT subscriber_id, disabled_at, disabled_reason, disabled_url FROM webhook_subscriber_state WHERE disabled = 1`)];
}

export async function setDisabled(tx: PgTx, id: string, disabled: boolean, reason: string | null, url: string | null, now: number): Promise<void> {
  await tx`INSERT INTO webhook_subscriber_state (subscriber_id, disabled, disabled_at, disabled_reason, disabled_url)
    VALUES (${id}, ${disabled ? 1 : 0}, ${disabled ? now : null}, ${reason}, ${url})
    ON CONFLICT (subscriber_id) DO UPDATE SET disabled = excluded.disabled, disabled_at = excluded.disabled_at,
      disabled_reason = excluded.disabled_reason, disabled_url = excluded.disabled_url`;
}

export async function lastOutcomes(sql: PgExec): Promise<Array<{ subscriber_id: string; last_success: number | null; last_failure: number | null }>> {
  return [
    ...(await sql<any[]>`SELECT subscriber_id, max(CASE WHEN outcome = 'delivered' THEN started_at END) AS last_success,
        max(CASE WHEN outcome <> 'delivered' THEN started_at END) AS last_failure
      FROM webhook_attempts GROUP BY subscriber_id`),
  ];
}

// ---- monitoring ----

export async function attemptStats(sql: PgExec, since: number): Promise<Array<{ subscriber_id: string; attempted: number; retried: number }>> {
  return [
    ...(await sql<any[]>`SELECT subscriber_id, count(*) AS attempted, count(*) FILTER (WHERE outcome = 'retry') AS retried
      FROM webhook_attempts WHERE started_at >= ${since} GROUP BY subscriber_id`),
  ];
}

export async function finishedStats(sql: PgExec, since: number): Promise<Array<{ subscriber_id: string; status: string; n: number }>> {
  return [...(await sql<any[]>`SELECT subscriber_id, status, count(*) AS n FROM webhook_deliveries WHERE finished_at >= ${since} GROUP BY subscriber_id, status`)];
}

export async function openStats(sql: PgExec): Promise<Array<{ subscriber_id: string; status: string; n: number }>> {
  return [
    ...(await sql<any[]>`SELECT subscriber_id, status, count(*) AS n FROM webhook_deliveries WHERE status IN ('pending','retrying') GROUP BY subscriber_id, status
      UNION ALL
      SELECT subscriber_id, status, count(*) AS n FROM webhook_deliveries WHERE status IN ('failed','dead') GROUP BY subscriber_id, status`),
  ];
}

/**
 * Subscribers with deliveries any node may claim now (due and unleased, or leased by a node whose
 * lease lapsed): how a node notices work that no NOTIFY announced (a dead node's deliveries and
 * retries) sooner than the 15 s sweep.
 */
export async function claimableTargets(sql: PgExec, now: number): Promise<string[]> {
  const rows = await sql<{ subscriber_id: string }[]>`SELECT DISTINCT subscriber_id FROM webhook_deliveries
    WHERE status IN ('pending','retrying') AND next_attempt_at <= ${now} AND (lease_token IS NULL OR lease_until <= ${now})`;
  return rows.map((r) => r.subscriber_id);
}

export async function latencies(sql: PgExec, since: number, cap: number): Promise<Array<{ subscriber_id: string; duration_ms: number }>> {
  return [
    ...(await sql<any[]>`SELECT subscriber_id, duration_ms FROM webhook_attempts WHERE started_at >= ${since} AND status_code IS NOT NULL
      ORDER BY started_at DESC LIMIT ${cap}`),
  ];
}

export async function failures(sql: PgExec, since: number, limit: number, subscriber: string | null): Promise<DeliveryRow[]> {
  return [
    ...(await sql<DeliveryRow[]>`SELECT * FROM webhook_deliveries WHERE status IN ('failed','dead') AND updated_at >= ${since}
        ${subscriber === null ? sql`` : sql`AND subscriber_id = ${subscriber}`}
      ORDER BY updated_at DESC LIMIT ${limit}`),
  ];
}

export async function failuresInWindow(tx: PgExec, since: number, until: number, subscriber: string | null, statuses: string[], limit: number): Promise<string[]> {
  const rows = await tx<{ id: string }[]>`SELECT id FROM webhook_deliveries WHERE status IN ('failed','dead') AND updated_at >= ${since} AND updated_at <= ${until}
      ${subscriber === null ? tx`` : tx`AND subscriber_id = ${subscriber}`}
      AND status = ANY(${tx.array(statuses, TEXT)}::text[]) ORDER BY updated_at LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

// ---- retention ----

export async function pruneDelivered(tx: PgTx, before: number, limit: number): Promise<number> {
  const ids = (await tx<{ id: string }[]>`SELECT id FROM webhook_deliveries WHERE finished_at < ${before} AND status = 'delivered' LIMIT ${limit}`).map((r) => r.id);
  if (ids.length === 0) return 0;
  await tx`DELETE FROM webhook_attempts WHERE delivery_id = ANY(${tx.array(ids, TEXT)}::text[])`;
  await tx`DELETE FROM webhook_deliveries WHERE id = ANY(${tx.array(ids, TEXT)}::text[])`;
  return ids.length;
}

/** Events past the retention period that no delivery references any more (see sql.pruneEvents). */
export async function pruneEvents(tx: PgTx, before: number, limit: number): Promise<number> {
  const rows = await tx`DELETE FROM events WHERE id IN (SELECT id FROM events e WHERE created_at < ${before}
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) LIMIT ${limit}) RETURNING id`;
  return rows.length;
}
