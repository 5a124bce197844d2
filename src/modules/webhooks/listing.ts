import type { Db } from "../../store/sqlite";
import { listDeliveries, type DeliveryFilter, type DeliveryGroup, type DeliverySummaryRow } from "./listing-sql";
import { iso } from "../../http/iso";

const DAY = 86_400_000;

/** The groups (one partial index each) a status filter reads. */
export function groupsFor(status: string | undefined): DeliveryGroup[] {
  if (status === "failed" || status === "dead") return ["problem"];
  if (status === "delivered") return ["delivered"];
  if (status === "pending" || status === "retrying") return ["open"];
  return ["open", "problem", "delivered"];
}

/** A window of deliveries of any status (the monitoring routes list only failures). */
export interface DeliveryListFilter {
  status?: string;
  subscriber_id?: string;
  since?: number;
  until?: number;
  /** `next_before` of the previous page: "<updated_at>:<id>". */
  before?: string;
  limit: number;
}

/** The query's filter: the window (default the last day) and the keyset cursor. */
export function windowFilter(now: number, q: DeliveryListFilter): DeliveryFilter {
  const until = q.until ?? now;
  const since = q.since ?? until - DAY;
  const [t, ...rest] = q.before ? q.before.split(":") : [];
  return {
    status: q.status ?? null,
    subscriber: q.subscriber_id ?? null,
    since,
    until,
    before_t: t === undefined ? null : Number(t),
    before_id: rest.length ? rest.join(":") : null,
    limit: q.limit,
  };
}

/** Deliveries of any status in a window, newest change first, keyset-paged. */
export function deliveriesInWindow(db: Db, now: number, q: DeliveryListFilter) {
  const filter = windowFilter(now, q);
  // Each group is read through its own index, then the pages are merged.
  const rows: DeliverySummaryRow[] = groupsFor(q.status).flatMap((g) => listDeliveries(db, g, filter));
  return windowAnswer(rows, filter);
}

/** The page answer from the groups' rows (merged newest change first). */
export function windowAnswer(rows: DeliverySummaryRow[], filter: DeliveryFilter) {
  rows.sort((a, b) => b.updated_at - a.updated_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    since: iso(filter.since),
    until: iso(filter.until),
    count: page.length,
    deliveries: page.map((r) => ({
      id: r.id,
      subscriber_id: r.subscriber_id,
      event_id: r.event_id,
      event_name: r.event_name,
      status: r.status,
      attempts: r.attempts,
      max_attempts: r.max_attempts,
      last_status: r.last_status,
      last_error: r.last_error,
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
    })),
    next_before: page.length === filter.limit && last ? `${last.updated_at}:${last.id}` : null,
  };
}
