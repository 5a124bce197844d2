import type { PgExec } from "../../store/postgres/client";
import type { DeliveryFilter, DeliveryGroup, DeliverySummaryRow } from "./listing-sql";
import { groupsFor, windowAnswer, windowFilter, type DeliveryListFilter } from "./listing";

// listing-sql.ts on PostgreSQL: the console's window over deliveries of any status, each group
// through its own partial index (same shapes), the pages merged by windowAnswer.

function listGroup(sql: PgExec, group: DeliveryGroup, f: DeliveryFilter): Promise<DeliverySummaryRow[]> {
  const who = f.subscriber === null ? sql`` : sql`AND subscriber_id = ${f.subscriber}`;
  const status = f.status === null ? sql`` : sql`AND status = ${f.status}`;
  if (group === "delivered") {
    const page = f.before_t === null ? sql`` : sql`AND (finished_at < ${f.before_t} OR (finished_at = ${f.before_t} AND id < ${f.before_id ?? ""}))`;
    return sql<DeliverySummaryRow[]>`SELECT id, subscriber_id, event_id, event_name, status, attempts, max_attempts, last_status, last_error, created_at, updated_at
      FROM webhook_deliveries WHERE finished_at >= ${f.since} AND finished_at <= ${f.until} AND status = 'delivered' ${who} ${page}
      ORDER BY finished_at DESC, id DESC LIMIT ${f.limit}`;
  }
  const page = f.before_t === null ? sql`` : sql`AND (updated_at < ${f.before_t} OR (updated_at = ${f.before_t} AND id < ${f.before_id ?? ""}))`;
  const statuses = group === "problem" ? sql`status IN ('failed','dead')` : sql`status IN ('pending','retrying')`;
  return sql<DeliverySummaryRow[]>`SELECT id, subscriber_id, event_id, event_name, status, attempts, max_attempts, last_status, last_error, created_at, updated_at
    FROM webhook_deliveries WHERE ${statuses} ${status} AND updated_at >= ${f.since} AND updated_at <= ${f.until} ${who} ${page}
    ORDER BY updated_at DESC, id DESC LIMIT ${f.limit}`;
}

/** deliveriesInWindow() on PostgreSQL (the groups are read concurrently on the pool). */
export async function deliveriesInWindowPg(sql: PgExec, now: number, q: DeliveryListFilter) {
  const filter = windowFilter(now, q);
  const groups = await Promise.all(groupsFor(q.status).map((g) => listGroup(sql, g, filter)));
  return windowAnswer(groups.flatMap((rows) => [...rows]), filter);
}
