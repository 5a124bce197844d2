import { Elysia } from "elysia";
import type { AppContext, FeatureModule } from "./context";
import { httpPlugin } from "./http/plugin";
import { healthRoutes } from "./modules/health";
import { opsRoutes } from "./modules/ops";
import type { HealthService } from "./modules/health/service";

/** The Elysia app: shared HTTP behaviour, then health/metrics, then each feature's controller. */
export function buildApp(ctx: AppContext, health: HealthService, modules: FeatureModule[]) {
  let app = new Elysia({ name: "ferry" })
    .use(httpPlugin({ log: ctx.log }))
    .use(healthRoutes(ctx, health))
    .use(opsRoutes(ctx));
  for (const m of modules) if (m.routes) app = app.use(m.routes) as typeof app;
  return app;
}
