import type { AppContext, FeatureModule } from "../../context";
import { WebhookEngine } from "./engine";
import { PgWebhookEngine } from "./engine-pg";
import { webhooksRoutes } from "./index";
import { WebhooksService } from "./service";
import { PgWebhooksService } from "./service-pg";

/** The webhooks feature; its delivery engine is handed to the features that send through it (src/modules/index.ts). */
export interface WebhooksModule extends FeatureModule {
  engine: WebhookEngine;
  service: WebhooksService | PgWebhooksService;
}

/**
 * Wires the webhooks feature into the daemon: routes, the delivery engine, maintenance services,
 * health. The database's implementation of each (SQLite or PostgreSQL) is chosen here, once.
 */
export function createWebhooksModule(ctx: AppContext): WebhooksModule {
  const storage = ctx.storage;
  let engine: WebhookEngine;
  let service: WebhooksService | PgWebhooksService;
  if (storage.kind === "postgres") {
    const pgEngine = new PgWebhookEngine(ctx, storage);
    engine = pgEngine;
    pgEngine.init();
    service = new PgWebhooksService(ctx, pgEngine, storage);
    ctx.bus.addPgPersister((tx, w, events) => pgEngine.persistPg(tx, w, events));
  } else {
    engine = new WebhookEngine(ctx);
    engine.init();
    service = new WebhooksService(ctx, engine);
    ctx.bus.addPersister((db, events) => engine.persist(db, events));
  }
  const s = service;
  ctx.capabilities.webhooks = { deliveriesInWindow: async (q) => s.deliveriesInWindow(q), backlog: () => s.backlog() };
  ctx.onReload((next) => engine.applyConfig(next));
  ctx.addHealth("webhooks", () => s.healthSection());
  ctx.metrics.addCollector(() => s.prometheus());
  // On PostgreSQL one node (the leader) prunes for all.
  ctx.scheduler.add({ name: "webhooks.pruner", pattern: ctx.config().webhooks.retention_cron, run: () => s.prune(), ...(storage.kind === "postgres" ? { leaderOnly: true } : {}) });
  // Retries due later than the engine's timers reach (a minute) are found by this sweep (on every node).
  ctx.scheduler.add({ name: "webhooks.sweep", pattern: "*/15 * * * * *", run: () => engine.wakeAll() });
  ctx.onShutdown(() => engine.stop(ctx.config().server.shutdown_timeout));
  return { name: "webhooks", engine, service, routes: webhooksRoutes(ctx, service), start: () => engine.start() };
}
