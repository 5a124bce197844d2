import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import type { HealthService } from "./service";

export function healthRoutes(ctx: AppContext, health: HealthService) {
  const handler = ({ set }: { set: { status?: number | string } }) => {
    const { httpStatus, body } = health.report();
    set.status = httpStatus;
    return body;
  };
  return new Elysia({ name: "health" })
    .get("/health", handler)
    .get("/api/v1/health", handler)
    .get(
      "/metrics",
      () => new Response(ctx.metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
    );
}
