import type { AppContext, FeatureModule } from "../../context";
import { webhookEngineOf } from "../webhooks/module";
import { jobsRoutes } from "./index";
import { JOB_KIND, JobsService } from "./service";

/** Wires the jobs feature into the daemon: routes, job kinds, maintenance services, health. */
export function createJobsModule(ctx: AppContext): FeatureModule {
  const service = new JobsService(ctx, webhookEngineOf(ctx));
  ctx.queue.register<{ id: string }>(JOB_KIND, {
    concurrency: 2,
    maxAttempts: 5,
    leaseMs: 60_000,
    handler: (job, jctx) => service.run(job, jctx),
  });
  return { name: "jobs", routes: jobsRoutes(ctx, service) };
}
