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
