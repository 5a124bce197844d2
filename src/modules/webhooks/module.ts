import type { AppContext, FeatureModule } from "../../context";
import { WebhookEngine } from "./engine";
import { webhooksRoutes } from "./index";
import { WebhooksService } from "./service";

// The jobs module (created after this one) reaches the engine through its context.
const engines = new WeakMap<AppContext, { engine: WebhookEngine; service: WebhooksService }>();

export function webhookEngineOf(ctx: AppContext): WebhookEngine | null {
  return engines.get(ctx)?.engine ?? null;
}

/** Wires the webhooks feature into the daemon: routes, the delivery engine, maintenance services, health. */
export function createWebhooksModule(ctx: AppContext): FeatureModule {
  const engine = new WebhookEngine(ctx);
  engine.init();
  const service = new WebhooksService(ctx, engine);
  engines.set(ctx, { engine, service });
  ctx.capabilities.webhooks = { deliveriesInWindow: (q) => service.deliveriesInWindow(q), backlog: () => service.backlog() };
  ctx.bus.addPersister((db, events) => engine.persist(db, events));
  ctx.onReload((next) => engine.applyConfig(next));
  ctx.addHealth("webhooks", () => service.healthSection());
  ctx.metrics.addCollector(() => service.prometheus());
  ctx.scheduler.add({ name: "webhooks.pruner", pattern: ctx.config().webhooks.retention_cron, run: () => service.prune() });
  // Retries due later than the engine's timers reach (a minute) are found by this sweep.
  ctx.scheduler.add({ name: "webhooks.sweep", pattern: "*/15 * * * * *", run: () => engine.wakeAll() });
  ctx.onShutdown(() => engine.stop(ctx.config().server.shutdown_timeout));
  return { name: "webhooks", routes: webhooksRoutes(ctx, service), start: () => engine.start() };
}
