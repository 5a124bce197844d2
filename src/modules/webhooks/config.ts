import { z } from "zod";
import { duration } from "../../config/units";
import { allowEntry } from "./ssrf";

// Subscriber ids name delivery lanes and appear in URLs and metrics labels; a leading "_" is
// reserved for ferry's own targets (the jobs API's completion webhooks are "_jobs").
const SUBSCRIBER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const retryConfig = z
  .strictObject({
    /** HTTP attempts in total (the first one included) before a delivery is dead. */
    max_attempts: z.number().int().min(1).max(100).default(4),
    /** exponential: base_ms · 2^(n-1) capped at max_ms; schedule: the delays listed in `schedule`. */
    backoff: z.enum(["exponential", "schedule"]).default("exponential"),
    /** First retry delay for exponential backoff. */
    base_ms: z.number().int().min(0).default(1000),
    /** Longest delay for exponential backoff. */
    max_ms: z.number().int().min(0).default(3_600_000),
    /** Delays before retry 1, 2, … (durations such as "1m"); the last one repeats. Required for backoff: schedule. */
    schedule: z.array(duration).min(1).optional(),
    /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter] so retries spread out. */
    jitter: z.number().min(0).max(1).default(0.2),
  })
  .prefault({})
  .superRefine((r, ctx) => {
    if (r.backoff === "schedule" && !r.schedule) ctx.addIssue({ code: "custom", path: ["schedule"], message: "backoff: schedule needs a schedule list" });
  });

export const subscriberConfig = z.strictObject({
  /** Stable id (letters, digits, _ . -); names the subscriber in metrics, health and deliveries. */
  id: z.string().regex(SUBSCRIBER_ID, "expected letters, digits, _ . - (not starting with _), at most 64 characters"),
  /** Display name; default: the id. */
  name: z.string().optional(),
  /** Target URL (http or https). Empty: the subscriber is not registered (logged once). */
  url: z
    .string()
    .default("")
    .refine((u) => u === "" || /^https?:\/\/[^\s]+$/i.test(u), "expected an http(s) URL or an empty string"),
  /** Sent as Authorization: Bearer <api_key> when set. */
  api_key: z.string().default(""),
  /** Signing secret: `whsec_<base64>` (Standard Webhooks) or any raw string. Empty: unsigned. */
  secret: z.string().default(""),
  /** Rotation: older secrets that still sign `webhook-signature` (one `v1,` entry each, after the current one) until receivers switch. */
  previous_secrets: z.array(z.string().min(1)).max(10).default([]),
  /** Deliveries per second to this subscriber (token bucket; waiting uses no attempts). 0 = no limit. */
  max_rate: z.number().min(0).max(100_000).default(0),
  /** Event names to deliver; `*` matches any run of characters ("attempt.*", "*"). */
  events: z.array(z.string().min(1)).min(1).default(["*"]),
  /** Extra request headers. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Per-attempt timeout (connect + response). */
  timeout_ms: z.number().int().min(1).max(600_000).default(10_000),
  retry: retryConfig,
  /** Deliveries in flight to this subscriber at once. */
  concurrency: z.number().int().min(1).max(256).default(32),
  /** false: configured but not registered. */
  enabled: z.boolean().default(true),
});

export type SubscriberConfig = z.output<typeof subscriberConfig>;

export const webhooksConfig = z
  .strictObject({
    /** Allow subscriber URLs that resolve to loopback/private/link-local addresses (SSRF guard off). */
    allow_private_targets: z.boolean().default(false),
    /** Subscriber targets allowed even when private: host, host:port, IP, IP:port or CIDR (e.g. ["hooks.internal:8443", "10.1.0.0/16"]). Not used for job webhook URLs (jobs.allowed_targets). */
    allowed_targets: z.array(allowEntry).default([]),
    /** Subscribers (spec/outgoing-webhooks.md); an entry with an empty url is not registered. */
    subscribers: z
      .array(subscriberConfig)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((s, i) => {
          if (seen.has(s.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate subscriber id ${s.id}` });
          seen.add(s.id);
        });
      }),
    circuit_breaker: z
      .strictObject({
        /** Consecutive failed attempts that open a subscriber's circuit (no attempts while open). */
        failure_threshold: z.number().int().min(1).default(5),
        /** How long an open circuit waits before one probe attempt (half-open). */
        cooldown: duration.prefault("30s"),
      })
      .prefault({}),
    /** Bytes of each response body kept with the attempt record. */
    response_capture: z.number().int().min(0).max(65536).default(1024),
    /** Delivered deliveries (and their attempts) older than this are pruned; also the event-id idempotency window. */
    retention: duration.prefault("7d"),
    /** Pruning schedule (croner pattern); each run deletes in batches of 500. */
    retention_cron: z.string().default("*/10 * * * *"),
  })
  .prefault({});

export type WebhooksConfig = z.output<typeof webhooksConfig>;
