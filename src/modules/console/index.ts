import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { requireToken } from "../../http/auth";
import { HttpError, validate } from "../../http/errors";
import { assetResponse } from "./assets";
import { deliveryListQuery, queueHistoryQuery } from "./model";
import type { ConsoleService } from "./service";

/** The operator console: static files at /ui (public, no data) and its read-only API (API token). */
export function consoleRoutes(ctx: AppContext, service: ConsoleService) {
  const auth = (headers: Headers) => requireToken(headers, ctx.config().auth.api_tokens);
  const file = (name: string, request: Request) => {
    const res = assetResponse(name, request.headers.get("accept-encoding"));
    if (!res) throw new HttpError(404, "not_found", `no console file ${name}`);
    return res;
  };
  return new Elysia({ name: "console" })
    .get("/ui", ({ request }) => file("index.html", request))
    .get("/ui/", ({ request }) => file("index.html", request))
    .get("/ui/:file", ({ params, request }) => file(params.file, request))
    .get("/api/v1/console/deliveries", ({ request, query }) => {
      auth(request.headers);
      return service.deliveries(validate(deliveryListQuery, query, "query"));
    })
    .get("/api/v1/console/queue", ({ request, query }) => {
      auth(request.headers);
      return service.queue(validate(queueHistoryQuery, query, "query").minutes);
    });
}
