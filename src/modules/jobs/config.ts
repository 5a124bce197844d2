import { z } from "zod";
import { duration } from "../../config/units";
import { allowEntry } from "../webhooks/ssrf";

export const jobsConfig = z
  .strictObject({
    /** When set, POST /api/v1/jobs requires X-Signature = hex HMAC-SHA256(secret, raw body) (or the legacy body `signature`); also signs completion webhooks. */
    secret: z.string().default(""),
    /**
     * Hosts (host or host:port) a webhook_url may name in a request signed with the legacy body `signature`, which
     * covers only the items. Empty: such a request runs, its webhook_url is dropped and the answer says why.
     */
    allowed_webhook_hosts: z.array(allowEntry).default([]),
    /** A signed request repeated identically within this window answers the first job (same job_id) instead of starting another. */
    replay_window: duration.prefault("24h"),
    /** Job webhook URLs (client-supplied) allowed even when private: host, host:port, IP, IP:port or CIDR. Separate from webhooks.allowed_targets. */
    allowed_targets: z.array(allowEntry).default([]),
  })
  .prefault({});
