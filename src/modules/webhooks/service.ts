import { inBatches } from "../../store/in-batches";
import type { AppContext } from "../../context";
import type { EventEnvelope } from "../../events/bus";
import { HttpError } from "../../http/errors";
import type { WebhookEngine } from "./engine";
import { deliveriesInWindow, type DeliveryListFilter } from "./listing";
import { PublishBatcher } from "./publisher";
import { HOUR, WebhooksServiceBase, type OpenCounts } from "./service-base";
import * as sql from "./sql";
import { iso } from "../../http/iso";

/** Publishing, monitoring and replay for the webhooks routes on SQLite (synchronous reads of the store). */
export class WebhooksService extends WebhooksServiceBase {
  constructor(ctx: AppContext, engine: WebhookEngine) {
    super(ctx, engine, new PublishBatcher(ctx));
  }

  protected openCounts(): OpenCounts {
    return sql.openStats(this.ctx.store.db);
  }

  metrics(hours: number) {
    const db = this.ctx.store.db;
    const since = this.ctx.clock.now() - hours * HOUR;
    // Latency from the most recent 200k attempts of the window: enough for stable percentiles.
    return this.metricsFrom(hours, since, {
      attempts: sql.attemptStats(db, since),
      finished: sql.finishedStats(db, since),
      open: sql.openStats(db),
      latencies: sql.latencies(db, since, 200_000),
    });
  }

  failures(limit: number, since: number | undefined, subscriber: string | undefined) {
    const from = since ?? this.ctx.clock.now() - 24 * HOUR;
    return this.failuresFrom(from, sql.failures(this.ctx.store.db, from, limit, subscriber ?? null));
  }

  delivery(id: string) {
    const db = this.ctx.store.db;
    const r = sql.getDelivery(db, id);
    return this.deliveryFrom(id, r, r ? sql.attemptsOf(db, id) : []);
  }

  async retry(id: string) {
    const result = await this.ctx.store.write((db) => this.engine.replay(db, id));
    if (!result.ok) throw new HttpError(result.code === "not_found" ? 404 : 409, result.code!, result.message!);
    return { id, status: "pending" };
  }

  async retryWindow(opts: { since?: number; until?: number; subscriber_id?: string; status: Array<"failed" | "dead">; limit: number }) {
    const since = opts.since ?? this.ctx.clock.now() - 24 * HOUR;
    const until = opts.until ?? this.ctx.clock.now();
    return this.ctx.store.write((db) => {
      const ids = sql.failuresInWindow(db, since, until, opts.subscriber_id ?? null, opts.status, opts.limit);
      const replayed: string[] = [];
      const skipped: Array<{ id: string; reason: string }> = [];
      for (const id of ids) {
        const r = this.engine.replay(db, id);
        if (r.ok) replayed.push(id);
        else skipped.push({ id, reason: r.message! });
      }
      return { since: iso(since), until: iso(until), replayed: replayed.length, delivery_ids: replayed, skipped };
    });
  }

  /** Retention: delivered deliveries (with attempts) and events past the period, in small batches. */
  async prune(): Promise<{ deliveries: number; events: number }> {
    const before = this.ctx.clock.now() - this.ctx.config().webhooks.retention;
    const deliveries = await inBatches((limit) => this.ctx.store.write((db) => sql.pruneDelivered(db, before, limit)));
    const events = await inBatches((limit) => this.ctx.store.write((db) => sql.pruneEvents(db, before, limit)));
    return { deliveries, events };
  }

  /** Deliveries of any status in a window (the console's list). */
  deliveriesInWindow(q: DeliveryListFilter) {
    return deliveriesInWindow(this.ctx.store.db, this.ctx.clock.now(), q);
  }
}

export type { EventEnvelope };
