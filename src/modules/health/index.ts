import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { doc } from "../../http/openapi";
import { healthAnswer } from "./model";
import type { HealthService } from "./service";

const tags = ["operations"];
const healthDoc = doc({ summary: "Health of every part (no auth)", tags, responses: { 200: healthAnswer, 503: healthAnswer.meta({ description: "the database is unusable" }) } });

export function healthRoutes(ctx: AppContext, health: HealthService) {
  const handler = async ({ set }: { set: { status?: number | string } }) => {
    const { httpStatus, body } = await health.report();
    set.status = httpStatus;
    return body;
  };
  return new Elysia({ name: "health" })
    .get("/health", handler, { detail: healthDoc })
    .get("/api/v1/health", handler, { detail: healthDoc })
    .get(
      "/metrics",
      async () => new Response(await ctx.metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
      { detail: doc({ summary: "Prometheus metrics (no auth)", tags, responses: { 200: { description: "Prometheus text format", contentType: "text/plain" } } }) },
    );
}
