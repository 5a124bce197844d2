import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { HttpError } from "../../http/errors";
import { doc } from "../../http/openapi";
import { controller } from "../../http/plugin";
import { assetResponse } from "./assets";
import { deliveryListAnswer, deliveryListQuery, queueHistoryAnswer, queueHistoryQuery } from "./model";
import type { ConsoleService } from "./service";

const tags = ["console"];

/** The operator console: static files at /ui (public, no data) and its read-only API (API token). */
export function consoleRoutes(ctx: AppContext, service: ConsoleService) {
  const file = (name: string, request: Request) => {
    const res = assetResponse(name, request.headers.get("accept-encoding"));
    if (!res) throw new HttpError(404, "not_found", `no console file ${name}`);
    return res;
  };
  const pages = new Elysia({ name: "console-pages" })
    .get("/ui", ({ request }) => file("index.html", request))
    .get("/ui/", ({ request }) => file("index.html", request))
    .get("/ui/:file", ({ params, request }) => file(params.file, request));
  return controller("console", ctx.config)
    .use(pages)
    .get("/api/v1/console/deliveries", ({ query }) => service.deliveries(query), {
      auth: "api",
      query: deliveryListQuery,
      detail: doc({
        summary: "Deliveries of any status in a time window (the console's list)",
        description: "Newest change first, keyset-paged: pass `next_before` as `before`. Default window: the last 24 hours.",
        tags,
        responses: { 200: deliveryListAnswer },
        errors: [401, 422],
      }),
    })
    .get("/api/v1/console/queue", ({ query }) => service.queue(query.minutes), {
      auth: "api",
      query: queueHistoryQuery,
      detail: doc({ summary: "The queue's recent history (jobs and deliveries, 5 s samples)", tags, responses: { 200: queueHistoryAnswer }, errors: [401, 422] }),
    });
}
