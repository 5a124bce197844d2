import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";

// Read-only queries over the delivery table for the console, which lists every status
// (the monitoring routes list only failures). Each query is shaped to use one of that table's
// partial indexes, so a large table of delivered rows is never scanned.

export interface DeliverySummaryRow {
  id: string;
  subscriber_id: string;
  event_id: string | null;
  event_name: string;
  status: string;
  attempts: number;
  max_attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS = "id, subscriber_id, event_id, event_name, status, attempts, max_attempts, last_status, last_error, created_at, updated_at";
// Keyset paging: rows strictly before (before_t, before_id) in (updated_at DESC, id DESC) order.
const PAGE = "(@before_t IS NULL OR updated_at < @before_t OR (updated_at = @before_t AND id < @before_id))";
const WHO = "(@subscriber IS NULL OR subscriber_id = @subscriber)";
const ORDER = "ORDER BY updated_at DESC, id DESC LIMIT @limit";

export const BY_GROUP = {
  // webhook_deliveries_problem (updated_at) WHERE status IN ('failed','dead')
  problem: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE status IN ('failed','dead') AND (@status IS NULL OR status = @status)
    AND updated_at >= @since AND updated_at <= @until AND ${WHO} AND ${PAGE} ${ORDER}`,
  // webhook_deliveries_finished (finished_at) WHERE finished_at IS NOT NULL. A delivered row's
  // finished_at is its updated_at (both set by the delivering attempt): filtering and sorting by
  // finished_at reads the index in order and stops at the page's end.
  delivered: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE finished_at >= @since AND finished_at <= @until AND status = 'delivered'
    AND ${WHO} AND ${PAGE.replaceAll("updated_at", "finished_at")} ORDER BY finished_at DESC, id DESC LIMIT @limit`,
  // webhook_deliveries_open (status) WHERE status IN ('pending','retrying'): the backlog, small by nature.
  open: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE status IN ('pending','retrying') AND (@status IS NULL OR status = @status)
    AND updated_at >= @since AND updated_at <= @until AND ${WHO} AND ${PAGE} ${ORDER}`,
} as const;

export type DeliveryGroup = keyof typeof BY_GROUP;

export interface DeliveryFilter {
  status: string | null;
  subscriber: string | null;
  since: number;
  until: number;
  before_t: number | null;
  before_id: string | null;
  limit: number;
}

export function listDeliveries(db: Db, group: DeliveryGroup, f: DeliveryFilter): DeliverySummaryRow[] {
  return prepared<[DeliveryFilter], DeliverySummaryRow>(db, BY_GROUP[group]).all(f);
}
