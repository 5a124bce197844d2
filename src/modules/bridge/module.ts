import type { AppContext, FeatureModule } from "../../context";
import { bridgeHealth } from "./health";
import { bridgeRoutes } from "./index";
import { BridgeIntake } from "./intake";
import { bridgeCleanup } from "./maintenance";
import { JOB_KIND } from "./markers";
import { BridgeRuntime } from "./runtime";
import { unsignedWarning } from "./signatures";
import { BridgeSync } from "./sync";

/** Wires the bridge feature into the daemon: intake routes, the sync job kind, maintenance, health. */
export function createBridgeModule(ctx: AppContext): FeatureModule {
  const rt = new BridgeRuntime(ctx);
  const sync = new BridgeSync(rt);
  ctx.queue.register(JOB_KIND, {
    handler: (job, jc) => sync.handle(job as never, jc),
    // One at a time: creating a contact/conversation never races, and an echo is handled after the write it echoes.
    concurrency: 1,
    maxAttempts: ctx.config().bridge.max_attempts,
    backoff: { type: "exponential", baseMs: 2_000, maxMs: 30 * 60_000, jitter: 0.2 },
    onFail: (db, job, error, final) => sync.onFail(db, job as never, error, final),
  });
  ctx.scheduler.add({ name: "bridge.cleanup", pattern: ctx.config().bridge.maintenance_cron, run: () => bridgeCleanup(rt) });
  ctx.addHealth("bridge", () => bridgeHealth(rt));
  const warnUnsigned = () => {
    const warning = unsignedWarning(ctx.config().bridge);
    if (warning) rt.log.warn(warning);
  };
  warnUnsigned();
  ctx.onReload(warnUnsigned);
  return { name: "bridge", routes: bridgeRoutes(new BridgeIntake(ctx), () => ctx.config().server.body_limit) };
}
