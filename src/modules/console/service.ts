import type { AppContext } from "../../context";
import type { DeliveryListQuery } from "./model";
import { SAMPLE_MS, type QueueHistory } from "./history";
import { listDeliveries, type DeliveryGroup, type DeliverySummaryRow } from "./sql";

const DAY = 86_400_000;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function groupsFor(status: string | undefined): DeliveryGroup[] {
  if (status === "failed" || status === "dead") return ["problem"];
  if (status === "delivered") return ["delivered"];
  if (status === "pending" || status === "retrying") return ["open"];
  return ["open", "problem", "delivered"];
}

/** The console's own read-only views (what no other route answers). */
export class ConsoleService {
  constructor(
    private ctx: AppContext,
    private history: QueueHistory,
  ) {}

  /** Deliveries of any status in a window, newest change first. */
  deliveries(q: DeliveryListQuery) {
    const until = q.until ?? this.ctx.clock.now();
    const since = q.since ?? until - DAY;
    const [t, ...rest] = q.before ? q.before.split(":") : [];
    const filter = {
      status: q.status ?? null,
      subscriber: q.subscriber_id ?? null,
      since,
      until,
      before_t: t === undefined ? null : Number(t),
      before_id: rest.length ? rest.join(":") : null,
      limit: q.limit,
    };
    // Each group is read through its own index, then the pages are merged.
    const rows: DeliverySummaryRow[] = groupsFor(q.status).flatMap((g) => listDeliveries(this.ctx.store.db, g, filter));
    rows.sort((a, b) => b.updated_at - a.updated_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      since: iso(since),
      until: iso(until),
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
      next_before: page.length === q.limit && last ? `${last.updated_at}:${last.id}` : null,
    };
  }

  /** Queue depth and finished attempts over the last minutes (5 s samples since this process started). */
  queue(minutes: number) {
    const samples = this.history.since(minutes);
    return {
      minutes,
      sample_seconds: SAMPLE_MS / 1000,
      samples: samples.map((s) => ({ ...s, at: iso(s.at) })),
    };
  }
}
