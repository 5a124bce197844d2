import type { AppContext, FeatureModule } from "../../context";
import type { KindOptions } from "../../queue";
import { jobsRoutes } from "./index";
import { JobsService } from "./service";
import { JOB_KIND, SqliteJobsStorage, type JobsStorage } from "./storage";
import { PgJobsStorage } from "./storage-pg";
import type { JobWebhooks } from "./webhooks";

// Per node: on PostgreSQL every node runs up to this many API jobs at once (README "Scale out").
const CONCURRENCY = 2;

/** Wires the jobs feature into the daemon: routes, job kinds, maintenance services, health. `webhooks`: the engine completion webhooks go through (null without the webhooks feature). */
export function createJobsModule(ctx: AppContext, deps: { webhooks: JobWebhooks | null }): FeatureModule {
  const now = () => ctx.clock.now();
  const s = ctx.storage;
  let storage: JobsStorage;
  if (s.kind === "sqlite") storage = new SqliteJobsStorage(s.store, s.queue, ctx.bus, deps.webhooks, now);
  else {
    storage = new PgJobsStorage(s.driver, s.queue, ctx.bus, deps.webhooks, now);
    if (deps.webhooks && !deps.webhooks.createJobWebhookPg) ctx.log.warn("jobs: the webhooks engine has no PostgreSQL implementation; jobs run, but no completion webhook is sent");
  }
  const service = new JobsService(ctx, storage);
  // The handler writes through its storage, never in the queue's completion transaction, so one definition serves both queues.
  const kind = <Tx>(): KindOptions<{ id: string }, Tx> => ({ concurrency: CONCURRENCY, maxAttempts: 5, leaseMs: 60_000, handler: (job, jctx) => service.run(job, jctx) });
  if (s.kind === "sqlite") s.queue.register(JOB_KIND, kind());
  else s.queue.register(JOB_KIND, kind());
  return { name: "jobs", routes: jobsRoutes(ctx, service) };
}
