import { inBatches } from "../../store/in-batches";
import type { AppContext } from "../../context";
import { HttpError } from "../../http/errors";
import { iso } from "../../http/iso";
import type { PostgresStorage } from "../../store/storage";
import type { PgWebhookEngine } from "./engine-pg";
import type { DeliveryListFilter } from "./listing";
import { deliveriesInWindowPg } from "./listing-pg";
import { PgPublishBatcher } from "./publisher-pg";
import { HOUR, WebhooksServiceBase, type OpenCounts } from "./service-base";
import * as pg from "./sql-pg";

/**
 * Publishing, monitoring and replay for the webhooks routes on PostgreSQL: reads on the pool
 * (any node answers them), writes in the group commit. The synchronous views (backlog, /health,
 * /metrics) use the counts the engine refreshes every 2 s.
 */
export class PgWebhooksService extends WebhooksServiceBase {
  constructor(
    ctx: AppContext,
    private pgEngine: PgWebhookEngine,
    private storage: PostgresStorage,
  ) {
    super(ctx, pgEngine, new PgPublishBatcher(ctx, storage.driver));
  }

  private get sql() {
    return this.storage.driver.sql;
  }

  protected openCounts(): OpenCounts {
    return this.pgEngine.openCounts;
  }

  async metrics(hours: number) {
    const since = this.ctx.clock.now() - hours * HOUR;
    const [attempts, finished, open, latencies] = await Promise.all([
      pg.attemptStats(this.sql, since),
      pg.finishedStats(this.sql, since),
      pg.openStats(this.sql),
      pg.latencies(this.sql, since, 200_000),
    ]);
    return this.metricsFrom(hours, since, { attempts, finished, open, latencies });
  }

  async failures(limit: number, since: number | undefined, subscriber: string | undefined) {
    const from = since ?? this.ctx.clock.now() - 24 * HOUR;
    return this.failuresFrom(from, await pg.failures(this.sql, from, limit, subscriber ?? null));
  }

  async delivery(id: string) {
    // The row first, then its attempts: each read sees every commit before it, so the attempts are
    // never older than the status they explain (read concurrently, they could be).
    const r = await pg.getDelivery(this.sql, id);
    return this.deliveryFrom(id, r, r ? await pg.attemptsOf(this.sql, id) : []);
  }

  async retry(id: string) {
    const result = await this.storage.driver.write((tx, w) => this.pgEngine.replayPg(tx, w, id));
    if (!result.ok) throw new HttpError(result.code === "not_found" ? 404 : 409, result.code!, result.message!);
    return { id, status: "pending" };
  }

  async retryWindow(opts: { since?: number; until?: number; subscriber_id?: string; status: Array<"failed" | "dead">; limit: number }) {
    const since = opts.since ?? this.ctx.clock.now() - 24 * HOUR;
    const until = opts.until ?? this.ctx.clock.now();
    return this.storage.driver.write(async (tx, w) => {
      const ids = await pg.failuresInWindow(tx, since, until, opts.subscriber_id ?? null, opts.status, opts.limit);
      const replayed: string[] = [];
      const skipped: Array<{ id: string; reason: string }> = [];
      for (const id of ids) {
        const r = await this.pgEngine.replayPg(tx, w, id);
        if (r.ok) replayed.push(id);
        else skipped.push({ id, reason: r.message! });
      }
      return { since: iso(since), until: iso(until), replayed: replayed.length, delivery_ids: replayed, skipped };
    });
  }

  /** Retention (on the leader only: see module.ts), in batches of 500 like on SQLite. */
  async prune(): Promise<{ deliveries: number; events: number }> {
    const before = this.ctx.clock.now() - this.ctx.config().webhooks.retention;
    const deliveries = await inBatches((limit) => this.storage.driver.write((tx) => pg.pruneDelivered(tx, before, limit)));
    const events = await inBatches((limit) => this.storage.driver.write((tx) => pg.pruneEvents(tx, before, limit)));
    return { deliveries, events };
  }

  deliveriesInWindow(q: DeliveryListFilter) {
    return deliveriesInWindowPg(this.sql, this.ctx.clock.now(), q);
  }
}
