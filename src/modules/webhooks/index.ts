import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { requireToken } from "../../http/auth";
import { validate } from "../../http/errors";
import { readJson } from "../../http/plugin";
import { bulkRetryBody, failuresQuery, metricsQuery, publishEventBody } from "./model";
import type { WebhooksService } from "./service";

/** The webhooks controller: publish, plugins, monitoring and replay routes (all API-token protected). */
export function webhooksRoutes(ctx: AppContext, service: WebhooksService) {
  const limit = () => ctx.config().server.body_limit;
  const auth = (headers: Headers) => requireToken(headers, ctx.config().auth.api_tokens);
  return new Elysia({ name: "webhooks" })
    .post(
      "/api/v1/events",
      async ({ request, set }) => {
        auth(request.headers);
        const input = validate(publishEventBody, await readJson(request, limit()));
        const { id } = await service.publish(input);
        set.status = 202;
        return { id };
      },
      { parse: "none" },
    )
    .get("/api/v1/plugins", ({ request }) => {
      auth(request.headers);
      return service.plugins();
    })
    .get("/api/v1/webhook-metrics", ({ request, query }) => {
      auth(request.headers);
      const q = validate(metricsQuery, query, "query");
      return service.metrics(q.hours);
    })
    .get("/api/v1/webhook-health", ({ request }) => {
      auth(request.headers);
      return service.health();
    })
    .get("/api/v1/webhook-failures", ({ request, query }) => {
      auth(request.headers);
      const q = validate(failuresQuery, query, "query");
      return service.failures(q.limit, q.since, q.subscriber_id);
    })
    .post(
      "/api/v1/webhook-failures/retry",
      async ({ request, set }) => {
        auth(request.headers);
        const input = validate(bulkRetryBody, (await readJson(request, limit())) ?? {});
        set.status = 202;
        return service.retryWindow(input);
      },
      { parse: "none" },
    )
    .get("/api/v1/deliveries/:id", ({ request, params }) => {
      auth(request.headers);
      return service.delivery(params.id);
    })
    .post("/api/v1/deliveries/:id/retry", async ({ request, params, set }) => {
      auth(request.headers);
      const out = await service.retry(params.id);
      set.status = 202;
      return out;
    });
}
