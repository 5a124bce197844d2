import type { AppContext } from "../../context";
import { doc } from "../../http/openapi";
import { controller, JSON_BODY } from "../../http/plugin";
import {
  bulkRetryAnswer,
  bulkRetryRouteBody,
  deliveryAnswer,
  deliveryIdParams,
  failuresAnswer,
  failuresQuery,
  metricsAnswer,
  metricsQuery,
  pluginsAnswer,
  publishAnswer,
  publishEventBody,
  retryAnswer,
  webhookHealthAnswer,
} from "./model";
import type { WebhooksService } from "./service";
import type { PgWebhooksService } from "./service-pg";

const tags = ["webhooks"];

/** The webhooks controller: publish, plugins, monitoring and replay routes (all API-token protected). */
export function webhooksRoutes(ctx: AppContext, service: WebhooksService | PgWebhooksService) {
  return controller("webhooks", ctx.config)
    .post(
      "/api/v1/events",
      async ({ body, set }) => {
        const { id } = await service.publish(body);
        set.status = 202;
        return { id };
      },
      {
        parse: JSON_BODY,
        body: publishEventBody,
        auth: "api",
        detail: doc({
          summary: "Publish an event to the subscribers",
          description: "202 once the event and its deliveries are stored. The same id again gets the same answer and no second fan-out.",
          tags,
          responses: { 202: publishAnswer },
          errors: [400, 401, 413, 415, 422],
        }),
      },
    )
    .get("/api/v1/plugins", () => service.plugins(), {
      auth: "api",
      detail: doc({ summary: "Configured subscribers and in-process hooks (no secrets)", tags, responses: { 200: pluginsAnswer }, errors: [401] }),
    })
    .get("/api/v1/webhook-metrics", ({ query }) => service.metrics(query.hours), {
      auth: "api",
      query: metricsQuery,
      detail: doc({ summary: "Delivery counts, success rate and latency per subscriber", tags, responses: { 200: metricsAnswer }, errors: [401, 422] }),
    })
    .get("/api/v1/webhook-health", () => service.health(), {
      auth: "api",
      detail: doc({ summary: "Each subscriber's status, circuit and last error", tags, responses: { 200: webhookHealthAnswer }, errors: [401] }),
    })
    .get("/api/v1/webhook-failures", ({ query }) => service.failures(query.limit, query.since, query.subscriber_id), {
      auth: "api",
      query: failuresQuery,
      detail: doc({ summary: "Failed and dead deliveries with their last error", tags, responses: { 200: failuresAnswer }, errors: [401, 422] }),
    })
    .post(
      "/api/v1/webhook-failures/retry",
      async ({ body, set }) => {
        set.status = 202;
        return service.retryWindow(body);
      },
      {
        parse: JSON_BODY,
        body: bulkRetryRouteBody,
        auth: "api",
        detail: doc({ summary: "Retry the failed (and dead) deliveries of a time window", tags, responses: { 202: bulkRetryAnswer }, errors: [400, 401, 413, 415, 422] }),
      },
    )
    .get("/api/v1/deliveries/:id", ({ params }) => service.delivery(params.id), {
      auth: "api",
      params: deliveryIdParams,
      detail: doc({ summary: "One delivery with its payload and every attempt", tags, responses: { 200: deliveryAnswer }, errors: [401, 404] }),
    })
    .post(
      "/api/v1/deliveries/:id/retry",
      async ({ params, set }) => {
        const out = await service.retry(params.id);
        set.status = 202;
        return out;
      },
      {
        auth: "api",
        params: deliveryIdParams,
        detail: doc({ summary: "Retry one delivery", description: "409 while it is pending or its subscriber is disabled.", tags, responses: { 202: retryAnswer }, errors: [401, 404, 409] }),
      },
    );
}
