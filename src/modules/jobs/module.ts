import type { AppContext, FeatureModule } from "../../context";
import type { WebhookEngine } from "../webhooks/engine";
import { jobsRoutes } from "./index";
import { JOB_KIND, JobsService } from "./service";

/** Wires the jobs feature into the daemon: routes, job kinds, maintenance services, health. `webhooks`: the engine completion webhooks go through (null without the webhooks feature). */
export function createJobsModule(ctx: AppContext, deps: { webhooks: WebhookEngine | null }): FeatureModule {
  const service = new JobsService(ctx, deps.webhooks);
  ctx.queue.register<{ id: string }>(JOB_KIND, {
    concurrency: 2,
    maxAttempts: 5,
    leaseMs: 60_000,
    handler: (job, jctx) => service.run(job, jctx),
  });
  return { name: "jobs", routes: jobsRoutes(ctx, service) };
}
