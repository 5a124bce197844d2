import type { AppContext, FeatureModule } from "../../context";
import type { KindOptions } from "../../queue";
import type { WriteTx } from "../../store/storage";
import { bridgeHealth } from "./health";
import { bridgeRoutes } from "./index";
import { BridgeIntake } from "./intake";
import { bridgeCleanup } from "./maintenance";
import { JOB_KIND } from "./markers";
import type { SyncPayload } from "./model";
import { BridgeRuntime } from "./runtime";
import { unsignedWarning } from "./signatures";
import { SqliteBridgeState } from "./state";
import { PgBridgeState } from "./state-pg";
import { BridgeSync, needsTurn } from "./sync";
import { PgBridgeTurn } from "./turn-pg";

/** Wires the bridge feature into the daemon: intake routes, the sync job kind, maintenance, health. */
export function createBridgeModule(ctx: AppContext): FeatureModule {
  const s = ctx.storage;
  const state = s.kind === "sqlite" ? new SqliteBridgeState(s.store, s.queue) : new PgBridgeState(s.driver, s.queue);
  const rt = new BridgeRuntime(ctx, state);
  const sync = new BridgeSync(rt);
  const kind = <Tx extends WriteTx>(handler: KindOptions<SyncPayload, Tx>["handler"]): KindOptions<SyncPayload, Tx> => ({
    handler,
    // One at a time: creating a contact/conversation never races, and an echo is handled after the write it echoes.
    concurrency: 1,
    maxAttempts: ctx.config().bridge.max_attempts,
    backoff: { type: "exponential", baseMs: 2_000, maxMs: 30 * 60_000, jitter: 0.2 },
    onFail: (tx, job, error, final) => sync.onFail(tx, job, error, final),
  });
  if (s.kind === "sqlite") s.queue.register(JOB_KIND, kind((job, jc) => sync.handle(job, jc)));
  else {
    // Across nodes too: one at a time, in claim order (turn-pg.ts; README "Scale out").
    const turn = new PgBridgeTurn(s.driver);
    ctx.onShutdown(() => turn.close());
    s.queue.register(
      JOB_KIND,
      kind(async (job, jc) => {
        if (!needsTurn(job.payload)) return sync.handle(job, jc);
        const release = await turn.take(job.id, jc.signal);
        try {
          return await sync.handle(job, jc);
        } finally {
          await release();
        }
      }),
    );
  }
  ctx.scheduler.add({ name: "bridge.cleanup", pattern: ctx.config().bridge.maintenance_cron, run: () => bridgeCleanup(rt) });
  ctx.addHealth("bridge", () => bridgeHealth(rt));
  const warnUnsigned = () => {
    const warning = unsignedWarning(ctx.config().bridge);
    if (warning) rt.log.warn(warning);
  };
  warnUnsigned();
  ctx.onReload(warnUnsigned);
  return { name: "bridge", routes: bridgeRoutes(new BridgeIntake(ctx, state), () => ctx.config().server.body_limit) };
}
