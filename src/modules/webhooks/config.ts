import { z } from "zod";
import { duration } from "../../config/units";

export const webhooksConfig = z
  .strictObject({
    /** Allow subscriber URLs that resolve to loopback/private/link-local addresses (SSRF guard off). */
    allow_private_targets: z.boolean().default(false),
    /** Subscribers (spec/outgoing-webhooks.md); an entry with an empty url is not registered. */
    subscribers: z.array(z.record(z.string(), z.unknown())).default([]),
    /** Delivered deliveries older than this are pruned. */
    retention: duration.prefault("7d"),
  })
  .prefault({});
