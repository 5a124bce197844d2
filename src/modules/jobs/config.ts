import { z } from "zod";

export const jobsConfig = z
  .strictObject({
    /** When set, POST /api/v1/jobs requires X-Signature = hex HMAC-SHA256(secret, raw body); also signs completion webhooks. */
    secret: z.string().default(""),
  })
  .prefault({});
