import type { AppContext, FeatureModule } from "../../context";
import { WebhookEngine } from "./engine";
import { webhooksRoutes } from "./index";
import { WebhooksService } from "./service";

/** The webhooks feature; its delivery engine is handed to the features that send through it (src/modules/index.ts). */
export interface WebhooksModule extends FeatureModule {
  engine: WebhookEngine;
}

/** Wires the webhooks feature into the daemon: routes, the delivery engine, maintenance services, health. */
export function createWebhooksModule(ctx: AppContext): WebhooksModule {
  const engine = new WebhookEngine(ctx);
  engine.init();
  const service = new WebhooksService(ctx, engine);
  ctx.capabilities.webhooks = { deliveriesInWindow: async (q) => service.deliveriesInWindow(q), backlog: () => service.backlog() };
  ctx.bus.addPersister((db, events) => engine.persist(db, events));
  ctx.onReload((next) => engine.applyConfig(next));
  ctx.addHealth("webhooks", () => service.healthSection());
  ctx.metrics.addCollector(() => service.prometheus());
  ctx.scheduler.add({ name: "webhooks.pruner", pattern: ctx.config().webhooks.retention_cron, run: () => service.prune() });
  // Retries due later than the engine's timers reach (a minute) are found by this sweep.
  ctx.scheduler.add({ name: "webhooks.sweep", pattern: "*/15 * * * * *", run: () => engine.wakeAll() });
  ctx.onShutdown(() => engine.stop(ctx.config().server.shutdown_timeout));
  return { name: "webhooks", engine, routes: webhooksRoutes(ctx, service), start: () => engine.start() };
}
