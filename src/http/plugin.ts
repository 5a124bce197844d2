import { Elysia } from "elysia";
import type { Logger } from "pino";
import { z } from "zod";
import type { Config } from "../config/schema";
import { storageFailure } from "../store/errors";
import { authMacro, deferBodyError } from "./auth";
import { errorResponse, HttpError, tooLarge, validate } from "./errors";
import { checkJsonLimits } from "./limits";

// The raw bytes of each JSON body, for signature checks (HMAC over exactly what was sent).
const rawBodies = new WeakMap<Request, string>();

export function rawBody(request: Request): string {
  return rawBodies.get(request) ?? "";
}

function isJson(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

const utf8 = new TextDecoder();

/**
 * Reads a JSON body: 413 past the limit (in bytes), 415 for a non-JSON content type, 400 for
 * malformed JSON, 422 for nesting or integers past the limits (limits.ts); keeps the raw text for
 * signature checks. An empty body is null. A body without Content-Length arrives through the
 * server's capped stream (server.ts), so reading it never holds more than the limit.
 */
export async function readJson(request: Request, limit: number, contentType = request.headers.get("content-type")): Promise<unknown> {
  let text: string;
  let bytes: number;
  try {
    // With Content-Length the byte count is known (Bun delivers exactly that many) and text() is
    // the fastest read; without it, count the bytes that actually arrived.
    const declared = request.headers.get("content-length");
    if (declared !== null) {
      bytes = Number(declared);
      if (bytes > limit) throw tooLarge(limit);
      text = await request.text();
    } else {
      const raw = await request.bytes();
      bytes = raw.byteLength;
      if (bytes > limit) throw tooLarge(limit);
      text = utf8.decode(raw);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, "unreadable_body", `request body could not be read: ${(err as Error).message}`);
  }
  if (bytes === 0 || text.length === 0) return null;
  if (!isJson(contentType)) {
    throw new HttpError(415, "unsupported_media_type", `expected Content-Type: application/json, got ${contentType || "none"}`);
  }
  rawBodies.set(request, text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, "invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
  }
  checkJsonLimits(value, text);
  return value;
}

/**
 * The name of ferry's JSON body parser: routes declare `parse: JSON_BODY` with a zod `body`, and
 * Elysia validates what readJson returns (the raw bytes stay available to rawBody()).
 */
export const JSON_BODY = "ferryJson";

/** Registers the JSON body parser under JSON_BODY; each controller uses it (with the auth macro). */
export function jsonBodyParser(bodyLimit: () => number) {
  return new Elysia({ name: "ferry-json-body" }).parser(JSON_BODY, ({ request, contentType }) => readJson(request, bodyLimit(), contentType || null).catch(deferBodyError));
}

export interface HttpPluginOptions {
  log: Logger;
}

/**
 * The error envelope for every route, applied globally. Request ids, the early 413 and request
 * metrics live in the server wrapper (src/http/server.ts); JSON bodies are read by readJson.
 */
export function httpPlugin(opts: HttpPluginOptions) {
  return new Elysia({ name: "ferry-http" })
    .onError({ as: "global" }, ({ code, error: thrown, request }) => toErrorResponse(code, thrown, request, opts.log));
}

const WHERE: Record<string, string> = { body: "request body", query: "query", params: "path", headers: "headers" };

/** A failed route schema (Elysia's ValidationError) as the same 422 that validate() gives. */
function validationResponse(error: { type?: string; validator?: unknown; value?: unknown; message?: string }): Response {
  const v = error.validator as { schema?: unknown } | undefined;
  const schema = v?.schema instanceof z.ZodType ? v.schema : v instanceof z.ZodType ? v : null;
  if (schema) {
    try {
      validate(schema, error.value, WHERE[error.type ?? ""] ?? error.type);
    } catch (err) {
      if (err instanceof HttpError) return errorResponse(err.status, err.code, err.message, err.details);
    }
  }
  return errorResponse(422, "validation_failed", `invalid ${WHERE[error.type ?? ""] ?? "request"}`);
}

function toErrorResponse(code: unknown, thrown: unknown, request: Request, log: Logger): Response {
  // Elysia wraps what a parser throws in a ParseError; our own errors travel as its cause.
  const error = (thrown as Error)?.cause instanceof HttpError ? (thrown as Error).cause : thrown;
  if (error instanceof HttpError) return errorResponse(error.status, error.code, error.message, error.details, error.headers);
  // Disk full, a lock held elsewhere, a corrupt or vanished file: the client may retry later.
  const storage = storageFailure(error);
  if (storage) {
    log.error({ reason: storage.reason, error: storage.message, method: request.method }, "storage unavailable; answered 503");
    return errorResponse(503, "storage_unavailable", storage.message, { reason: storage.reason }, { "retry-after": String(storage.retryAfterSeconds) });
  }
  switch (code) {
    case "NOT_FOUND":
      return errorResponse(404, "not_found", `no route for ${request.method} ${new URL(request.url).pathname}`);
    case "PARSE":
      return errorResponse(400, "invalid_body", "request body could not be parsed");
    case "VALIDATION":
      return validationResponse(error as never);
  }
  const status = (error as { status?: number }).status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return errorResponse(status, "bad_request", (error as Error).message ?? "bad request");
  }
  // The bridge's path token is a secret: keep it out of the log.
  const path = new URL(request.url).pathname.replace(/(\/chatwoot-webhook\/)[^/]+/, "$1[redacted]");
  log.error({ err: error, method: request.method, url: path }, "unhandled error");
  return errorResponse(500, "internal_error", "internal error; see the server log");
}

/**
 * A feature controller: an Elysia instance that knows ferry's JSON body parser (`parse: JSON_BODY`)
 * and the `auth` route option (src/http/auth.ts).
 */
export function controller(name: string, config: () => Config) {
  return new Elysia({ name }).use(jsonBodyParser(() => config().server.body_limit)).use(authMacro(config));
}
