import type { AnyElysia } from "elysia";
import type { Server } from "bun";
import { errorResponse } from "./errors";
import type { Metrics } from "./metrics";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface ServeOptions {
  hostname: string;
  port: number;
  /** Bun's hard limit, a backstop for bodies without Content-Length (readJson enforces ours). */
  maxRequestBodySize: number;
  bodyLimit: () => number;
  metrics: Metrics;
}

type Handler = (req: Request) => Promise<Response>;

/**
 * Serves the Elysia app through Bun's native router: each of the app's route patterns gets a
 * thin wrapper (early 413, X-Request-Id, request metrics labelled by the pattern) around
 * `app.fetch`. Doing this here rather than in Elysia lifecycle hooks keeps per-request work
 * small on the hot paths; Elysia still does routing, handlers and the error envelope.
 */
export function serveApp(app: AnyElysia, opts: ServeOptions): Server<unknown> {
  const fetch = app.fetch;
  const wrap =
    (label: string): Handler =>
    async (req) => {
      const start = performance.now();
      const length = req.headers.get("content-length");
      const limit = opts.bodyLimit();
      const res =
        length !== null && Number(length) > limit
          ? errorResponse(413, "payload_too_large", `request body is ${length} bytes; the limit is ${limit} bytes`, { limit })
          : await fetch(req);
      const incoming = req.headers.get("x-request-id");
      res.headers.set("x-request-id", incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID());
      opts.metrics.observeRequest(req.method, label, res.status, (performance.now() - start) / 1000);
      return res;
    };
  const routes: Record<string, Record<string, Handler>> = {};
  for (const r of app.routes) {
    const method = r.method.toUpperCase();
    if (method === "ALL" || method === "WS") continue;
    (routes[r.path] ??= {})[method] = wrap(r.path);
  }
  // A known path with a method it does not serve, and every unknown path, end up here.
  const unmatched = wrap("unmatched");
  return Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: opts.maxRequestBodySize,
    routes,
    fetch: unmatched,
  });
}
