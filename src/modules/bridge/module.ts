import type { AppContext, FeatureModule } from "../../context";
import { bridgeRoutes } from "./index";
import { BridgeService, JOB_KIND } from "./service";

/** Wires the bridge feature into the daemon: routes, job kind, maintenance service, health. */
export function createBridgeModule(ctx: AppContext): FeatureModule {
  const service = new BridgeService(ctx);
  ctx.queue.register(JOB_KIND, {
    handler: (job, jc) => service.handle(job as never, jc),
    // One at a time: creating a contact/conversation never races, and an echo is handled after the write it echoes.
    concurrency: 1,
    maxAttempts: ctx.config().bridge.max_attempts,
    backoff: { type: "exponential", baseMs: 2_000, maxMs: 30 * 60_000, jitter: 0.2 },
    onFail: (db, job, error, final) => service.onFail(db, job as never, error, final),
  });
  ctx.scheduler.add({ name: "bridge.cleanup", pattern: ctx.config().bridge.maintenance_cron, run: () => service.cleanup() });
  ctx.addHealth("bridge", () => service.health());
  return { name: "bridge", routes: bridgeRoutes(service, () => ctx.config().server.body_limit) };
}
