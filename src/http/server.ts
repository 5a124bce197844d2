import type { AnyElysia } from "elysia";
import type { Server } from "bun";
import { errorResponse, tooLarge } from "./errors";
import type { Metrics } from "./metrics";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface ServeOptions {
  hostname: string;
  port: number;
  bodyLimit: () => number;
  metrics: Metrics;
}

type Handler = (req: Request) => Promise<Response>;

// Elysia finds the path at the first "/" from index 11 of the URL, which assumes a host of 4+
// characters; Bun builds the URL from the Host header (or leaves it relative when Host is empty
// or odd). With `Host: x`, `/public/api/v1/config` would route to `/api/v1/config`. Requests whose
// URL Elysia would misread get a fixed origin, so the path is always the request line's.
const CANONICAL_ORIGIN = "http://ferry.invalid";

function pathOf(url: string, hostEnd: number): string {
  if (url.startsWith("/")) return url;
  if (hostEnd >= 0) return url.slice(hostEnd);
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return "/";
  }
}

/** A body without Content-Length, cut off with 413 once it passes the limit (never buffered whole). */
function capped(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      seen += value.byteLength;
      if (seen > limit) {
        void reader.cancel().catch(() => {});
        return controller.error(tooLarge(limit));
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The request Elysia sees: same path as Bun routed, and a chunked body capped at the limit. */
function routedRequest(req: Request, limit: number): Request {
  const url = req.url;
  const hostEnd = url.startsWith("http://") ? url.indexOf("/", 7) : -1;
  // Headers first: touching `req.body` makes Bun create a stream, which the common case never needs.
  const chunked = !req.headers.has("content-length") && req.body !== null;
  if (hostEnd >= 11 && !chunked) return req;
  return new Request(hostEnd >= 11 ? url : CANONICAL_ORIGIN + pathOf(url, hostEnd), {
    method: req.method,
    headers: req.headers,
    body: chunked ? capped(req.body!, limit) : req.body,
    signal: req.signal,
  });
}

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
          : await fetch(routedRequest(req, limit));
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
    // No hard limit of Bun's own (its 413 has no error envelope): Content-Length is checked above
    // and bodies without one are capped while read; an unread body is not buffered.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    routes,
    fetch: unmatched,
  });
}
