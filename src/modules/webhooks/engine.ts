import type { AppContext } from "../../context";
import { matchesPattern, type EventEnvelope } from "../../events/bus";
import { backoffDelay, PermanentFailure, RetryLater, type Backoff, type Job, type JobContext } from "../../queue";
import type { Db } from "../../store/sqlite";
import type { Config } from "../../config/schema";
import type { SubscriberConfig } from "./config";
import { hexSignature, standardKey, standardSignature } from "./signing";
import { guardedFetch, ResolveFailed, TargetRefused } from "./ssrf";
import * as sql from "./sql";
import { parseRetryAfter } from "../../http/retry-after";

/** ferry's own target for the jobs API's completion webhooks (ids starting with "_" are reserved). */
export const JOBS_TARGET = "_jobs";
export const KIND_PREFIX = "webhook:";
// The queue's own attempt budget is not used: the engine counts HTTP attempts per delivery and
// decides retry / dead itself (deferrals while a circuit is open are not attempts).
const QUEUE_BUDGET = 1_000_000;
const MAX_RETRY_AFTER_MS = 86_400_000;

export interface Target {
  id: string;
  name: string;
  url: string;
  apiKey: string;
  secret: string;
  headers: Record<string, string>;
  timeoutMs: number;
  maxAttempts: number;
  delayMs: (attempt: number) => number;
  /** Subscribers retry 408/429; the jobs API's webhook retries no 4xx. */
  retry4xx: boolean;
  /** Subscribers get the event headers, Authorization and Standard Webhooks headers; job webhooks only Content-Type, User-Agent, X-Signature. */
  fullHeaders: boolean;
  events: string[];
  concurrency: number;
  /** Job webhooks go to a different URL per job: one bad URL must not hold back the others. */
  breaker: boolean;
}

interface TargetState {
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
  openUntil: number;
  probing: boolean;
  attempts: Record<string, number>;
}

/** The outcome of one HTTP attempt that did not deliver, carried to the queue's onFail. */
interface Outcome {
  record: sql.AttemptRecord | null;
  deliveryStatus: sql.DeliveryRow["status"] | null;
  nextAttemptAt: number | null;
  disable?: { reason: string; url: string };
  deferred?: boolean;
}
class RetryAttempt extends RetryLater {
  constructor(message: string, delayMs: number, readonly outcome: Outcome) {
    super(message, delayMs);
  }
}
class FinalAttempt extends PermanentFailure {
  constructor(message: string, readonly outcome: Outcome) {
    super(message);
  }
}



/** The URL without user:password (for API answers and logs). */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "";
  }
}

async function readSnippet(res: Response, cap: number): Promise<string> {
  if (!res.body || cap === 0) {
    await res.body?.cancel().catch(() => {});
    return "";
  }
  const length = Number(res.headers.get("content-length"));
  // Small bodies are read whole so the keep-alive connection is reused.
  if (length <= 65536) return (await res.text()).slice(0, cap);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  while (have < cap) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    have += value.length;
  }
  await reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(chunks)).slice(0, cap);
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { code?: string };
  if (e?.name === "TimeoutError") return `timeout after ${timeoutMs} ms`;
  if (e?.name === "AbortError") return "aborted (ferry shutting down)";
  const code = e?.code ? `${e.code}: ` : "";
  return `connection failed: ${code}${e?.message ?? String(err)}`;
}

export function targetFromSubscriber(s: SubscriberConfig): Target {
  const r = s.retry;
  // The queue's backoff, with the subscriber's own policy.
  const policy: Backoff =
    r.backoff === "schedule"
      ? { type: "schedule", delaysMs: r.schedule!, jitter: r.jitter }
      : { type: "exponential", baseMs: r.base_ms, maxMs: r.max_ms, jitter: r.jitter };
  const delayMs = (n: number) => backoffDelay(policy, n);
  return {
    id: s.id,
    name: s.name ?? s.id,
    url: s.url,
    apiKey: s.api_key,
    secret: s.secret,
    headers: s.headers,
    timeoutMs: s.timeout_ms,
    maxAttempts: r.max_attempts,
    delayMs,
    retry4xx: true,
    fullHeaders: true,
    events: s.events,
    concurrency: s.concurrency,
    breaker: true,
  };
}

// Completion webhooks of the jobs API: retried 1, 2, 4, 8 and 16 minutes after the previous
// attempt (up to 5 retries after the first attempt), 30 s timeout, no retry on 4xx.
export const JOB_WEBHOOK_SCHEDULE_MS = [60_000, 120_000, 240_000, 480_000, 960_000];
function jobsTarget(config: Config): Target {
  return {
    id: JOBS_TARGET,
    name: "Jobs API completion webhooks",
    url: "",
    apiKey: "",
    secret: config.jobs.secret,
    headers: {},
    timeoutMs: 30_000,
    maxAttempts: JOB_WEBHOOK_SCHEDULE_MS.length + 1,
    delayMs: (n) => JOB_WEBHOOK_SCHEDULE_MS[Math.min(n - 1, JOB_WEBHOOK_SCHEDULE_MS.length - 1)]!,
    retry4xx: false,
    fullHeaders: false,
    events: [],
    concurrency: 16,
    breaker: false,
  };
}

export interface ReplayResult {
  ok: boolean;
  code?: "not_found" | "pending" | "disabled";
  message?: string;
}

/**
 * The delivery engine: turns events into delivery rows + queued jobs (one queue kind per
 * subscriber, so each has its own concurrency cap and a dead endpoint only ties up its own
 * workers), performs signed HTTP attempts, applies the outcome rules and keeps per-subscriber
 * state (circuit breaker, consecutive failures, 410-disabled).
 */
export class WebhookEngine {
  targets = new Map<string, Target>();
  private configured: SubscriberConfig[] = [];
  private state = new Map<string, TargetState>();
  private disabled = new Map<string, { at: number; reason: string | null; url: string | null }>();
  private loggedEmpty = new Set<string>();
  private matchCache = new Map<string, Target[]>();
  private userAgent: string;

  constructor(private ctx: AppContext) {
    this.userAgent = `ferry/${ctx.version}`;
  }

  init(): void {
    for (const d of sql.loadDisabled(this.ctx.store.db)) this.disabled.set(d.subscriber_id, { at: d.disabled_at, reason: d.disabled_reason, url: d.disabled_url });
    for (const o of sql.lastOutcomes(this.ctx.store.db)) {
      const st = this.stateOf(o.subscriber_id);
      st.lastSuccessAt = o.last_success;
      st.lastFailureAt = o.last_failure;
    }
    this.registerKind(JOBS_TARGET, 16);
    this.applyConfig(this.ctx.config());
  }

  kindOf(targetId: string): string {
    return KIND_PREFIX + targetId;
  }

  stateOf(id: string): TargetState {
    let st = this.state.get(id);
    if (!st) this.state.set(id, (st = { consecutiveFailures: 0, lastSuccessAt: null, lastFailureAt: null, lastError: null, openUntil: 0, probing: false, attempts: {} }));
    return st;
  }

  /** (Re)builds the subscriber table from config: new ids get a queue kind, empty URLs are logged once. */
  applyConfig(config: Config): void {
    this.configured = config.webhooks.subscribers;
    const next = new Map<string, Target>();
    for (const s of config.webhooks.subscribers) {
      if (!s.enabled) continue;
      if (!s.url) {
        if (!this.loggedEmpty.has(s.id)) {
          this.loggedEmpty.add(s.id);
          this.ctx.log.warn({ subscriber: s.id }, "webhook subscriber has an empty url: not registered");
        }
        continue;
      }
      const t = targetFromSubscriber(s);
      next.set(s.id, t);
      this.registerKind(s.id, t.concurrency);
      // A subscriber disabled by a 410 comes back when ops point it at a different URL.
      const d = this.disabled.get(s.id);
      if (d && d.url !== null && d.url !== s.url) {
        this.disabled.delete(s.id);
        this.ctx.store.writeNow((db) => sql.setDisabled(db, s.id, false, null, null, this.ctx.clock.now()));
        this.ctx.log.info({ subscriber: s.id }, "webhook subscriber re-enabled: its url changed");
      }
    }
    this.targets = next;
    this.matchCache.clear();
  }

  configuredSubscribers(): SubscriberConfig[] {
    return this.configured;
  }

  isDisabled(id: string): { at: number; reason: string | null } | null {
    return this.disabled.get(id) ?? null;
  }

  private registerKind(id: string, concurrency: number): void {
    const kind = this.kindOf(id);
    if (this.ctx.queue.kindNames().includes(kind)) return;
    this.ctx.queue.register<{ d: string }>(kind, {
      concurrency,
      maxAttempts: QUEUE_BUDGET,
      handler: (job, jctx) => this.attempt(job, jctx),
      onFail: (db, job, error) => this.recordFailure(db, job, error),
    });
  }

  private matching(name: string): Target[] {
    let list = this.matchCache.get(name);
    if (!list) {
      list = [...this.targets.values()].filter((t) => !this.disabled.has(t.id) && t.events.some((p) => matchesPattern(p, name)));
      this.matchCache.set(name, list);
    }
    return list;
  }

  /** The bus persister: stores the event and its deliveries in the publisher's transaction. False when the id is known. */
  persist(db: Db, event: EventEnvelope): boolean {
    const body = JSON.stringify(event);
    const now = this.ctx.clock.now();
    if (!sql.insertEvent(db, event.id, event.name, body, now)) return false;
    // Operational events about a subscriber never go back to that subscriber (no feedback loop).
    const about = (event.data as { subscriber_id?: unknown } | null)?.subscriber_id;
    for (const t of this.matching(event.name)) {
      if (about !== undefined && t.id === about) continue;
      this.createDelivery(db, { targetId: t.id, eventId: event.id, eventName: event.name, body, maxAttempts: t.maxAttempts });
    }
    return true;
  }

  /** One delivery row + its queued job, in the caller's transaction. */
  createDelivery(db: Db, d: { targetId: string; eventId: string | null; eventName: string; body: string; maxAttempts: number; url?: string }): string {
    const id = `msg_${Bun.randomUUIDv7()}`;
    const now = this.ctx.clock.now();
    const st = this.state.get(d.targetId);
    const runAt = st && st.openUntil > now ? st.openUntil : now;
    const job = this.ctx.queue.enqueue(db, { kind: this.kindOf(d.targetId), payload: { d: id }, runAt, maxAttempts: QUEUE_BUDGET });
    sql.insertDelivery(db, {
      id,
      queue_job_id: job.id,
      event_id: d.eventId,
      event_name: d.eventName,
      subscriber_id: d.targetId,
      url: d.url ?? null,
      body: d.body,
      max_attempts: d.maxAttempts,
      created_at: now,
    });
    return id;
  }

  createJobWebhook(db: Db, url: string, eventName: string, body: string): string {
    return this.createDelivery(db, { targetId: JOBS_TARGET, eventId: null, eventName, body, maxAttempts: JOB_WEBHOOK_SCHEDULE_MS.length + 1, url });
  }

  /** Puts a failed, dead (or delivered) delivery back in the queue with a fresh attempt budget; same body, same webhook-id. */
  replay(db: Db, id: string): ReplayResult {
    const row = sql.getDelivery(db, id);
    if (!row) return { ok: false, code: "not_found", message: `no delivery ${id}` };
    if (row.status === "pending" || row.status === "retrying") return { ok: false, code: "pending", message: `delivery ${id} is still ${row.status}` };
    if (row.subscriber_id !== JOBS_TARGET && this.disabled.has(row.subscriber_id)) {
      return { ok: false, code: "disabled", message: `subscriber ${row.subscriber_id} is disabled (it answered 410); change its url to re-enable it` };
    }
    let jobId = row.queue_job_id;
    if (jobId === null || !this.ctx.queue.replay(db, jobId)) {
      jobId = this.ctx.queue.enqueue(db, { kind: this.kindOf(row.subscriber_id), payload: { d: id }, maxAttempts: QUEUE_BUDGET }).id;
    }
    sql.resetForReplay(db, id, jobId, this.ctx.clock.now());
    return { ok: true };
  }

  private resolve(row: sql.DeliveryRow): Target | null {
    if (row.subscriber_id === JOBS_TARGET) return { ...jobsTarget(this.ctx.config()), url: row.url ?? "" };
    const t = this.targets.get(row.subscriber_id);
    return t ? (row.url ? { ...t, url: row.url } : t) : null;
  }

  private final(message: string): FinalAttempt {
    return new FinalAttempt(message, { record: null, deliveryStatus: "failed", nextAttemptAt: null });
  }

  /** The queue handler: one HTTP attempt of one delivery. */
  private async attempt(job: Job<{ d: string }>, jctx: JobContext): Promise<void> {
    const db = this.ctx.store.db;
    const row = sql.getDelivery(db, job.payload.d);
    if (!row || row.status === "delivered" || row.status === "failed" || row.status === "dead") return;
    const now = this.ctx.clock.now();
    const target = this.resolve(row);
    if (!target) throw this.final(`subscriber ${row.subscriber_id} is no longer configured`);
    if (target.id !== JOBS_TARGET && this.disabled.has(target.id)) throw this.final(`subscriber ${target.id} is disabled (it answered 410)`);

    const st = this.stateOf(target.id);
    const cb = this.ctx.config().webhooks.circuit_breaker;
    let probe = false;
    if (st.openUntil > 0) {
      if (now < st.openUntil || st.probing) {
        const until = Math.max(st.openUntil, now + Math.min(cb.cooldown, 1000));
        throw new RetryAttempt("circuit open", until - now, { record: null, deliveryStatus: null, nextAttemptAt: until, deferred: true });
      }
      probe = st.probing = true; // half-open: this attempt is the probe
    }

    const attempt = row.attempts + 1;
    const startedAt = now;
    const t0 = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    let response: string | null = null;
    let retryAfterMs: number | null = null;
    let refused = false;
    try {
      const wh = this.ctx.config().webhooks;
      const headers = this.headers(target, row, attempt);
      // Connects to the address the guard checked; job URLs come from clients and have their own allow-list.
      const allowed = target.id === JOBS_TARGET ? this.ctx.config().jobs.allowed_targets : wh.allowed_targets;
      const res = await guardedFetch(target.url, {
        method: "POST",
        headers,
        body: row.body,
        redirect: "manual", // following a redirect would bypass the SSRF guard
        signal: AbortSignal.any([AbortSignal.timeout(target.timeoutMs), jctx.signal]),
      }, { allowPrivate: wh.allow_private_targets, allowed });
      status = res.status;
      retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
      response = await readSnippet(res, wh.response_capture);
    } catch (err) {
      if (err instanceof TargetRefused) {
        refused = true;
        error = `refused: ${err.message}`;
      } else if (err instanceof ResolveFailed) error = err.message;
      else error = status === null ? describeFetchError(err, target.timeoutMs) : `reading the response failed: ${describeFetchError(err, target.timeoutMs)}`;
    } finally {
      if (probe) st.probing = false;
    }
    const duration = Math.round((performance.now() - t0) * 100) / 100;
    const record: sql.AttemptRecord = {
      delivery_id: row.id,
      subscriber_id: target.id,
      attempt,
      started_at: startedAt,
      duration_ms: duration,
      status_code: status,
      outcome: "delivered",
      error,
      response,
    };
    const done = this.ctx.clock.now();

    if (status !== null && status >= 200 && status < 300 && error === null) {
      this.noteSuccess(st, done);
      jctx.onComplete((w) => {
        sql.insertAttempt(w, record);
        sql.markDelivered(w, row.id, attempt, status, done);
      });
      return;
    }

    // Not delivered: decide retry, failed, disabled or dead.
    if (status !== null && error === null) record.error = error = `HTTP ${status}`;
    const retryable = !refused && (status === null || status >= 500 || (target.retry4xx && (status === 408 || status === 429)));
    // Only failures that say "the endpoint is not working" count towards the circuit breaker.
    const tripped = this.noteFailure(st, done, error!, retryable && target.breaker ? cb.failure_threshold : Infinity, cb.cooldown, retryable);
    if (status === 410 && target.id !== JOBS_TARGET) {
      record.outcome = "disabled";
      throw new FinalAttempt(error!, { record, deliveryStatus: "failed", nextAttemptAt: null, disable: { reason: `HTTP 410 Gone on delivery ${row.id}`, url: target.url } });
    }
    if (!retryable) {
      record.outcome = "failed";
      throw new FinalAttempt(error!, { record, deliveryStatus: "failed", nextAttemptAt: null });
    }
    if (attempt >= row.max_attempts) {
      record.outcome = "dead";
      throw new FinalAttempt(`${error} (attempt ${attempt} of ${row.max_attempts}: exhausted)`, { record, deliveryStatus: "dead", nextAttemptAt: null });
    }
    record.outcome = "retry";
    let delay = retryAfterMs !== null ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) : target.delayMs(attempt);
    if (tripped) delay = Math.max(delay, st.openUntil - done);
    throw new RetryAttempt(error!, delay, { record, deliveryStatus: "retrying", nextAttemptAt: done + delay });
  }

  private headers(target: Target, row: sql.DeliveryRow, attempt: number): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json", "user-agent": this.userAgent };
    if (target.fullHeaders) {
      Object.assign(h, target.headers);
      h["content-type"] = "application/json";
      h["user-agent"] = this.userAgent;
      h["x-event-name"] = row.event_name;
      if (row.event_id) h["x-event-id"] = row.event_id;
      h["x-delivery-attempt"] = String(attempt);
      if (target.apiKey) h.authorization = `Bearer ${target.apiKey}`;
    }
    if (target.secret) {
      h["x-signature"] = hexSignature(target.secret, row.body);
      if (target.fullHeaders) {
        // Wall-clock seconds (not ctx.clock): receivers check it against their own clock.
        const ts = Math.floor(Date.now() / 1000);
        h["webhook-id"] = row.id;
        h["webhook-timestamp"] = String(ts);
        h["webhook-signature"] = standardSignature(this.keyOf(target.secret), row.id, ts, row.body);
      }
    }
    return h;
  }

  // The decoded Standard Webhooks key per secret (decoding a base64 secret on every attempt is waste).
  private keys = new Map<string, Buffer>();
  private keyOf(secret: string): Buffer {
    let key = this.keys.get(secret);
    if (!key) {
      if (this.keys.size > 1000) this.keys.clear(); // secrets only change on reload: keep the map bounded
      this.keys.set(secret, (key = standardKey(secret)));
    }
    return key;
  }

  private noteSuccess(st: TargetState, now: number): void {
    st.consecutiveFailures = 0;
    st.lastSuccessAt = now;
    st.openUntil = 0;
    st.attempts.delivered = (st.attempts.delivered ?? 0) + 1;
  }

  /** Counts a failure; returns true when this failure opened (or re-opened) the circuit. */
  private noteFailure(st: TargetState, now: number, error: string, threshold: number, cooldown: number, counts: boolean): boolean {
    if (counts) st.consecutiveFailures++;
    st.lastFailureAt = now;
    st.lastError = error;
    st.attempts.failed = (st.attempts.failed ?? 0) + 1;
    if (st.consecutiveFailures >= threshold) {
      st.openUntil = now + cooldown;
      return true;
    }
    return false;
  }

  /** The queue's onFail: records the attempt and its effect in the transaction that reschedules or buries the job. */
  private recordFailure(db: Db, job: Job<{ d: string }>, error: Error): void {
    const outcome = (error as RetryAttempt | FinalAttempt).outcome as Outcome | undefined;
    const now = this.ctx.clock.now();
    if (!outcome) {
      this.ctx.log.error({ err: error, delivery: job.payload.d }, "webhook attempt failed unexpectedly");
      return;
    }
    const row = sql.getDelivery(db, job.payload.d);
    if (!row) return;
    if (outcome.deferred) {
      sql.setNextAttempt(db, row.id, outcome.nextAttemptAt!, now);
      return;
    }
    const rec = outcome.record;
    if (rec) sql.insertAttempt(db, rec);
    sql.updateDeliveryAfterAttempt(db, row.id, outcome.deliveryStatus!, rec ? rec.attempt : row.attempts, rec?.status_code ?? row.last_status, error.message.slice(0, 2000), outcome.nextAttemptAt, now);
    const st = this.state.get(row.subscriber_id);
    if (st && st.openUntil > now) sql.deferKind(db, this.kindOf(row.subscriber_id), st.openUntil);
    if (outcome.disable && !this.disabled.has(row.subscriber_id)) {
      sql.setDisabled(db, row.subscriber_id, true, outcome.disable.reason, outcome.disable.url, now);
      this.disabled.set(row.subscriber_id, { at: now, reason: outcome.disable.reason, url: outcome.disable.url });
      this.matchCache.clear();
      this.ctx.log.warn({ subscriber: row.subscriber_id }, "webhook subscriber disabled: it answered 410 Gone");
      this.ctx.bus.publish(db, {
        name: "subscriber.disabled",
        data: { subscriber_id: row.subscriber_id, reason: outcome.disable.reason, delivery_id: row.id },
      });
    }
    if (outcome.deliveryStatus === "dead") {
      this.ctx.bus.publish(db, {
        name: "delivery.exhausted",
        data: {
          delivery_id: row.id,
          subscriber_id: row.subscriber_id,
          event_id: row.event_id,
          event_name: row.event_name,
          attempts: rec?.attempt ?? row.attempts,
          last_error: error.message.slice(0, 500),
        },
      });
    }
  }
}
