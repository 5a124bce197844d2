import { backoffDelay, type Backoff } from "../../queue";
import type { Config } from "../../config/schema";
import type { SubscriberConfig } from "./config";

/** ferry's own target for the jobs API's completion webhooks (ids starting with "_" are reserved). */
export const JOBS_TARGET = "_jobs";

/**
 * Where deliveries go and the rules they follow. Two kinds: a configured subscriber, and the jobs
 * API's completion webhooks (one target, a URL per delivery row). Everything that differs between
 * them is a field here, decided once when the target is built.
 */
export interface Target {
  kind: "subscriber" | "job";
  id: string;
  name: string;
  /** The subscriber's URL; "" for the jobs target (each row carries its own). */
  url: string;
  apiKey: string;
  /** Current signing secret ("" = unsigned), then older ones still accepted during a rotation. */
  secret: string;
  previousSecrets: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  maxAttempts: number;
  /** Delay before the retry that follows failed attempt n (1-based). */
  delayMs: (attempt: number) => number;
  /** Subscribers retry 408/429; the jobs API's webhook retries no 4xx. */
  retry4xx: boolean;
  /** A 410 disables a subscriber; a job webhook's 410 only fails that delivery. */
  disableOn410: boolean;
  /** Event headers, Authorization and Standard Webhooks headers (subscribers); job webhooks get X-Signature only. */
  standardHeaders: boolean;
  events: string[];
  concurrency: number;
  /** Job webhooks go to a different URL per job: one bad URL must not hold back the others. */
  breaker: boolean;
  /** Deliveries per second, 0 = no limit. */
  maxRate: number;
}

export function subscriberTarget(s: SubscriberConfig): Target {
  const r = s.retry;
  const policy: Backoff =
    r.backoff === "schedule"
      ? { type: "schedule", delaysMs: r.schedule!, jitter: r.jitter }
      : { type: "exponential", baseMs: r.base_ms, maxMs: r.max_ms, jitter: r.jitter };
  return {
    kind: "subscriber",
    id: s.id,
    name: s.name ?? s.id,
    url: s.url,
    apiKey: s.api_key,
    secret: s.secret,
    previousSecrets: s.previous_secrets,
    headers: s.headers,
    timeoutMs: s.timeout_ms,
    maxAttempts: r.max_attempts,
    delayMs: (n) => backoffDelay(policy, n),
    retry4xx: true,
    disableOn410: true,
    standardHeaders: true,
    events: s.events,
    concurrency: s.concurrency,
    breaker: true,
    maxRate: s.max_rate,
  };
}

// Completion webhooks of the jobs API: retried 1, 2, 4, 8 and 16 minutes after the previous
// attempt (5 retries after the first attempt), 30 s timeout, no retry on 4xx.
export const JOB_WEBHOOK_SCHEDULE_MS = [60_000, 120_000, 240_000, 480_000, 960_000];

export function jobsTarget(config: Config): Target {
  return {
    kind: "job",
    id: JOBS_TARGET,
    name: "Jobs API completion webhooks",
    url: "",
    apiKey: "",
    secret: config.jobs.secret,
    previousSecrets: [],
    headers: {},
    timeoutMs: 30_000,
    maxAttempts: JOB_WEBHOOK_SCHEDULE_MS.length + 1,
    delayMs: (n) => JOB_WEBHOOK_SCHEDULE_MS[Math.min(n - 1, JOB_WEBHOOK_SCHEDULE_MS.length - 1)]!,
    retry4xx: false,
    disableOn410: false,
    standardHeaders: false,
    events: [],
    concurrency: 16,
    breaker: false,
    maxRate: 0,
  };
}

/** Values that must never be stored or shown from a captured response body (an echo of our own request). */
export function secretsOf(t: Target, config: Config): string[] {
  const list = [t.secret, ...t.previousSecrets, t.apiKey, ...config.auth.api_tokens, config.jobs.secret];
  // Custom header values are often credentials too (X-Api-Key …); short ones ("ferry") are not worth hiding.
  for (const v of Object.values(t.headers)) if (v.length >= 8) list.push(v);
  return [...new Set(list.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
}

/** The SSRF guard's options for a target's URLs (client-supplied job webhook URLs may get their own allow-list here). */
export function guardFor(t: Target, config: Config): { allowPrivate: boolean; allowed: string[] } {
  const wh = config.webhooks;
  // Job URLs come from clients: they have their own allow-list, not the subscribers'.
  return { allowPrivate: wh.allow_private_targets, allowed: t.kind === "job" ? config.jobs.allowed_targets : wh.allowed_targets };
}
