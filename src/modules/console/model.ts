import { z } from "zod";

const instant = z.iso
  .datetime({ offset: true })
  .transform((s) => Date.parse(s))
  .or(z.coerce.number().int().nonnegative());

export const DELIVERY_STATUSES = ["pending", "retrying", "delivered", "failed", "dead"] as const;

/** GET /api/v1/console/deliveries: newest first by last change (updated_at), keyset-paged with `before`. */
export const deliveryListQuery = z.strictObject({
  subscriber_id: z.string().min(1).max(200).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  /** Window on the last change; default the last 24 hours. */
  since: instant.optional(),
  until: instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** The `next_before` of the previous page ("<ms>:<id>"). */
  before: z.string().regex(/^\d+:[\w.:-]+$/, "expected the next_before value of a previous page").optional(),
});

export type DeliveryListQuery = z.output<typeof deliveryListQuery>;

/** GET /api/v1/console/queue: the queue's recent history. */
export const queueHistoryQuery = z.strictObject({
  minutes: z.coerce.number().int().min(1).max(60).default(60),
});

const iso = z.iso.datetime({ offset: true });

/** The answer of GET /api/v1/console/deliveries. */
export const deliveryListAnswer = z.object({
  since: iso.nullable(),
  until: iso.nullable(),
  count: z.number().int(),
  deliveries: z.array(
    z.object({
      id: z.string(),
      subscriber_id: z.string(),
      event_id: z.string().nullable(),
      event_name: z.string(),
      status: z.enum(DELIVERY_STATUSES),
      attempts: z.number().int(),
      max_attempts: z.number().int(),
      last_status: z.number().int().nullable(),
      last_error: z.string().nullable(),
      created_at: iso.nullable(),
      updated_at: iso.nullable(),
    }),
  ),
  /** Pass as `before` for the next page; null on the last one. */
  next_before: z.string().nullable(),
});

/** The answer of GET /api/v1/console/queue: 5 s samples of jobs and deliveries. */
export const queueHistoryAnswer = z.object({
  minutes: z.number().int(),
  sample_seconds: z.number(),
  samples: z.array(
    z.object({
      at: iso.nullable(),
      waiting: z.number().int(),
      running: z.number().int(),
      dead: z.number().int(),
      done_total: z.number().int(),
      failed_total: z.number().int(),
    }),
  ),
});
