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
});

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

/** POST /api/v1/webhook-failures/retry */
export const bulkRetryBody = z.strictObject({
  since: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).or(z.number().int().nonnegative()).optional(),
  until: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).or(z.number().int().nonnegative()).optional(),
  subscriber_id: z.string().min(1).optional(),
  status: z.array(z.enum(["failed", "dead"])).min(1).default(["failed", "dead"]),
  limit: z.number().int().min(1).max(10_000).default(1000),
});
