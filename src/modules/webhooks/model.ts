import { z } from "zod";

const idText = z.string().min(1).max(200).regex(/^[\w.:-]+$/, "expected letters, digits, _ . : -");
const contextValue = z.string().max(200).nullable().optional();

/** POST /api/v1/events */
export const publishEventBody = z.strictObject({
  name: z.string().min(1).max(200).regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "expected a dotted event name such as attempt.submitted"),
  context: z.strictObject({ tenantId: contextValue, organisationId: contextValue, userId: contextValue }).optional(),
  // Any JSON object, passed through as is (checking its shape is the subscribers' business).
  data: z.custom<Record<string, unknown>>((v) => v !== null && typeof v === "object" && !Array.isArray(v), "expected a JSON object").default({}),
  id: idText.optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
}).meta({ examples: [{ id: "evt-42", name: "attempt.submitted", context: { userId: "5" }, data: { score: 7 } }] });

/** A point in time given as an ISO date or unix milliseconds. */
export const instant = z.union([z.coerce.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

export const metricsQuery = z.strictObject({
  hours: z.coerce.number().positive().max(24 * 366).default(24),
});

export const failuresQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  since: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).or(z.coerce.number().int().nonnegative()).optional(),
  subscriber_id: z.string().min(1).optional(),
});

/** POST /api/v1/webhook-failures/retry (an empty body means all defaults). */
export const bulkRetryBody = z.strictObject({
  since: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).or(z.number().int().nonnegative()).optional(),
  until: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).or(z.number().int().nonnegative()).optional(),
  subscriber_id: z.string().min(1).optional(),
  status: z.array(z.enum(["failed", "dead"])).min(1).default(["failed", "dead"]),
  limit: z.number().int().min(1).max(10_000).default(1000),
});

// Answers (documented in /openapi.json; objects are loose: fields may be added).
const iso = z.string().nullable().meta({ description: "ISO 8601 time or null" });
export const publishAnswer = z.looseObject({ id: z.string().meta({ description: "the event id (yours, or evt_<uuid>)" }) });
const subscriberView = z.looseObject({ id: z.string(), name: z.string(), type: z.literal("external"), active: z.boolean(), url: z.string().nullable(), events: z.array(z.string()), inactive_reason: z.string().optional() });
export const pluginsAnswer = z.looseObject({
  plugins: z.array(subscriberView),
  inactive: z.array(subscriberView),
  active_count: z.number().int(),
  external_service_count: z.number().int(),
  in_process_hooks: z.array(z.string()),
});
const counts = z.looseObject({
  attempted: z.number().int(),
  delivered: z.number().int(),
  failed: z.number().int(),
  retried: z.number().int(),
  pending: z.number().int(),
  dead: z.number().int(),
  success_rate: z.number().nullable(),
  latency_ms: z.looseObject({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() }),
});
export const metricsAnswer = z.looseObject({ hours: z.number(), since: z.string(), generated_at: z.string(), total: counts, subscribers: z.array(counts.extend({ id: z.string(), name: z.string() })) });
export const webhookHealthAnswer = z.looseObject({
  status: z.enum(["healthy", "degraded", "failing"]),
  subscribers: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      status: z.enum(["healthy", "degraded", "failing", "disabled"]),
      circuit: z.enum(["closed", "open", "half_open"]),
      consecutive_failures: z.number().int(),
      last_success_at: iso,
      last_failure_at: iso,
      last_error: z.string().nullable(),
    }),
  ),
});
export const failuresAnswer = z.looseObject({
  since: z.string(),
  count: z.number().int(),
  failures: z.array(
    z.looseObject({
      delivery_id: z.string(),
      subscriber_id: z.string(),
      event_id: z.string(),
      event_name: z.string(),
      status: z.enum(["failed", "dead"]),
      attempts: z.number().int(),
      last_status: z.number().int().nullable(),
      last_error: z.string().nullable(),
      created_at: iso,
      failed_at: iso,
    }),
  ),
});
export const bulkRetryAnswer = z.looseObject({
  since: z.string(),
  until: z.string(),
  replayed: z.number().int(),
  delivery_ids: z.array(z.string()),
  skipped: z.array(z.looseObject({ id: z.string(), reason: z.string() })),
});
export const deliveryAnswer = z.looseObject({
  id: z.string(),
  subscriber_id: z.string(),
  event_id: z.string(),
  event_name: z.string(),
  status: z.enum(["pending", "retrying", "delivered", "failed", "dead"]),
  attempt_count: z.number().int(),
  max_attempts: z.number().int(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: iso,
  created_at: iso,
  updated_at: iso,
  finished_at: iso,
  url: z.string().optional(),
  payload: z.unknown().meta({ description: "the envelope as sent: {name, context, data, timestamp, id}" }),
  attempts: z.array(
    z.looseObject({
      attempt: z.number().int(),
      started_at: iso,
      duration_ms: z.number().nullable(),
      status_code: z.number().int().nullable(),
      outcome: z.string(),
      error: z.string().nullable(),
      response: z.string().nullable().meta({ description: "first webhooks.response_capture bytes of the answer" }),
    }),
  ),
});
export const retryAnswer = z.looseObject({ id: z.string(), status: z.literal("pending") });
export const deliveryIdParams = z.strictObject({ id: z.string().min(1).max(200).meta({ examples: ["msg_01a230dd-db10-75b2-b3b1-248438483ec3"] }) });
/** The bulk-retry body as a route schema: no body at all means {} (every default). */
export const bulkRetryRouteBody = z.preprocess((v) => v ?? {}, bulkRetryBody).meta({ examples: [{ status: ["failed", "dead"], subscriber_id: "crm", limit: 100 }] });
