import { Elysia } from "elysia";
import type { AppContext, FeatureModule } from "./context";
import { openapiRoutes } from "./http/openapi";
import { httpPlugin } from "./http/plugin";
import { healthRoutes } from "./modules/health";
import { opsRoutes } from "./modules/ops";
import type { HealthService } from "./modules/health/service";

/** The Elysia app: shared HTTP behaviour, then health/metrics, then each feature's controller, then /openapi.json + /docs. */
export function buildApp(ctx: AppContext, health: HealthService, modules: FeatureModule[]) {
  let app = new Elysia({ name: "ferry" })
    .use(httpPlugin({ log: ctx.log }))
    .use(healthRoutes(ctx, health))
    .use(opsRoutes(ctx));
  for (const m of modules) if (m.routes) app = app.use(m.routes) as typeof app;
  // The document is built on first request from every route registered by then.
  return app.use(openapiRoutes(() => app, ctx.version));
}
