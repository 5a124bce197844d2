import type { AppContext, DeliveryBacklog } from "../../context";
import type { PublishInput } from "../../events/bus";
import { HttpError } from "../../http/errors";
import { family } from "../../http/metrics";
import { displayUrl } from "../../config/mask";
import { JOBS_TARGET, type WebhookEngine } from "./engine";
import type * as sql from "./sql";
import { iso } from "../../http/iso";

export const HOUR = 3_600_000;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Counts {
  attempted: number;
  delivered: number;
  failed: number;
  retried: number;
  pending: number;
  dead: number;
  durations: number[];
}

/** The rows the metrics answer is made of (one read each, on either database). */
export interface MetricsRows {
  attempts: Array<{ subscriber_id: string; attempted: number; retried: number }>;
  finished: Array<{ subscriber_id: string; status: string; n: number }>;
  open: Array<{ subscriber_id: string; status: string; n: number }>;
  latencies: Array<{ subscriber_id: string; duration_ms: number }>;
}

export type OpenCounts = Array<{ subscriber_id: string; status: string; n: number }>;

/**
 * What the webhooks routes answer, whatever the database: the engine's memory (plugins, health)
 * and the shapes of the answers built from rows. Each driver's service reads the rows
 * (service.ts on SQLite, service-pg.ts on PostgreSQL). No Elysia in here.
 */
export abstract class WebhooksServiceBase {
  constructor(
    protected ctx: AppContext,
    protected engine: WebhookEngine,
    private publisher: { publish(input: PublishInput): Promise<boolean> },
  ) {}

  /** Open and problem deliveries per subscriber and status, now (synchronous: /health and /metrics). */
  protected abstract openCounts(): OpenCounts;

  /** Stores the event and its deliveries; an id seen before is answered the same way without a second fan-out. */
  async publish(input: PublishInput): Promise<{ id: string; created: boolean }> {
    const id = input.id ?? `evt_${Bun.randomUUIDv7()}`;
    return { id, created: await this.publisher.publish({ ...input, id }) };
  }

  plugins() {
    const list = this.engine.configuredSubscribers().map((s) => {
      const disabled = this.engine.isDisabled(s.id);
      const registered = this.engine.targets.has(s.id);
      return {
        id: s.id,
        name: s.name ?? s.id,
        type: "external" as const,
        active: registered && !disabled,
        url: s.url ? displayUrl(s.url) : null,
        events: s.events,
        ...(disabled ? { disabled_at: iso(disabled.at), disabled_reason: disabled.reason } : {}),
        ...(!s.url ? { inactive_reason: "no url configured" } : !s.enabled ? { inactive_reason: "enabled: false" } : {}),
      };
    });
    const active = list.filter((p) => p.active);
    return {
      plugins: active,
      inactive: list.filter((p) => !p.active),
      active_count: active.length,
      external_service_count: active.filter((p) => p.type === "external").length,
      in_process_hooks: this.ctx.bus.hookNames(),
    };
  }

  protected subscriberIds(): string[] {
    return [...new Set([...this.engine.configuredSubscribers().map((s) => s.id)])];
  }

  protected metricsFrom(hours: number, since: number, rows: MetricsRows) {
    const per = new Map<string, Counts>();
    const get = (id: string) => {
      let c = per.get(id);
      if (!c) per.set(id, (c = { attempted: 0, delivered: 0, failed: 0, retried: 0, pending: 0, dead: 0, durations: [] }));
      return c;
    };
    for (const id of this.subscriberIds()) get(id);
    for (const r of rows.attempts) {
      const c = get(r.subscriber_id);
      c.attempted += r.attempted;
      c.retried += r.retried;
    }
    for (const r of rows.finished) {
      const c = get(r.subscriber_id);
      if (r.status === "delivered") c.delivered += r.n;
      else if (r.status === "failed") c.failed += r.n;
      else if (r.status === "dead") c.dead += r.n;
    }
    for (const r of rows.open) if (r.status === "pending" || r.status === "retrying") get(r.subscriber_id).pending += r.n;
    for (const r of rows.latencies) get(r.subscriber_id).durations.push(r.duration_ms);
    const total: Counts = { attempted: 0, delivered: 0, failed: 0, retried: 0, pending: 0, dead: 0, durations: [] };
    const shape = (c: Counts) => {
      const sorted = c.durations.sort((a, b) => a - b);
      const finished = c.delivered + c.failed + c.dead;
      return {
        attempted: c.attempted,
        delivered: c.delivered,
        failed: c.failed,
        retried: c.retried,
        pending: c.pending,
        dead: c.dead,
        success_rate: finished ? Math.round((c.delivered / finished) * 10000) / 10000 : null,
        latency_ms: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) },
      };
    };
    const subscribers = [...per.entries()].map(([id, c]) => {
      for (const k of ["attempted", "delivered", "failed", "retried", "pending", "dead"] as const) total[k] += c[k];
      total.durations.push(...c.durations);
      return { id, name: this.nameOf(id), ...shape(c) };
    });
    return { hours, since: iso(since), generated_at: iso(this.ctx.clock.now()), total: shape(total), subscribers };
  }

  protected nameOf(id: string): string {
    if (id === JOBS_TARGET) return "Jobs API completion webhooks";
    return this.engine.configuredSubscribers().find((s) => s.id === id)?.name ?? id;
  }

  health() {
    const now = this.ctx.clock.now();
    const cb = this.ctx.config().webhooks.circuit_breaker;
    const subscribers = this.engine
      .configuredSubscribers()
      .filter((s) => this.engine.targets.has(s.id) || this.engine.isDisabled(s.id))
      .map((s) => {
        const st = this.engine.stateOf(s.id);
        const circuit = st.openUntil === 0 ? "closed" : now < st.openUntil ? "open" : "half_open";
        const status = this.engine.isDisabled(s.id)
          ? "disabled"
          : circuit !== "closed" || st.consecutiveFailures >= cb.failure_threshold
            ? "failing"
            : st.consecutiveFailures > 0 || (st.lastFailureAt !== null && (st.lastSuccessAt === null || st.lastFailureAt > st.lastSuccessAt))
              ? "degraded"
              : "healthy";
        return {
          id: s.id,
          name: s.name ?? s.id,
          status,
          circuit,
          consecutive_failures: st.consecutiveFailures,
          last_success_at: iso(st.lastSuccessAt),
          last_failure_at: iso(st.lastFailureAt),
          last_error: st.lastError,
          ...this.engine.rateOf(s.id),
        };
      });
    const bad = subscribers.filter((s) => s.status !== "healthy");
    const status = bad.length === 0 ? "healthy" : subscribers.every((s) => s.status === "failing" || s.status === "disabled") ? "failing" : "degraded";
    return { status, subscribers };
  }

  protected failuresFrom(from: number, rows: sql.DeliveryRow[]) {
    return {
      since: iso(from),
      count: rows.length,
      failures: rows.map((r) => ({
        delivery_id: r.id,
        subscriber_id: r.subscriber_id,
        event_id: r.event_id,
        event_name: r.event_name,
        status: r.status,
        attempts: r.attempts,
        last_status: r.last_status,
        last_error: r.last_error,
        created_at: iso(r.created_at),
        failed_at: iso(r.updated_at),
      })),
    };
  }

  /** `attempts` are read only when the delivery exists. */
  protected deliveryFrom(id: string, r: sql.DeliveryRow | undefined, attempts: Array<Omit<sql.AttemptRecord, "delivery_id"> & { id: number }>) {
    if (!r) throw new HttpError(404, "not_found", `no delivery ${id}`);
    let payload: unknown = r.body;
    try {
      payload = JSON.parse(r.body);
    } catch {
      // keep the text
    }
    return {
      id: r.id,
      subscriber_id: r.subscriber_id,
      event_id: r.event_id,
      event_name: r.event_name,
      status: r.status,
      attempt_count: r.attempts,
      max_attempts: r.max_attempts,
      last_status: r.last_status,
      last_error: r.last_error,
      next_attempt_at: r.status === "pending" || r.status === "retrying" ? iso(r.next_attempt_at) : null,
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
      finished_at: iso(r.finished_at),
      ...(r.url ? { url: displayUrl(r.url) } : {}),
      payload,
      attempts: attempts.map((a) => ({
        attempt: a.attempt,
        started_at: iso(a.started_at),
        duration_ms: a.duration_ms,
        status_code: a.status_code,
        outcome: a.outcome,
        error: a.error,
        response: a.response,
      })),
    };
  }

  /** Deliveries waiting, in flight and dead now, and this process's finished attempts. */
  backlog(): DeliveryBacklog {
    let waiting = 0;
    let dead = 0;
    for (const r of this.openCounts()) {
      if (r.status === "pending" || r.status === "retrying") waiting += r.n;
      else if (r.status === "dead") dead += r.n;
    }
    let delivered = 0;
    let failed = 0;
    for (const id of [...this.subscriberIds(), JOBS_TARGET]) {
      for (const [outcome, n] of Object.entries(this.engine.stateOf(id).attempts)) {
        if (outcome === "delivered") delivered += n;
        else failed += n;
      }
    }
    // A delivery being attempted is still pending in the table: count it as running, not waiting.
    const running = this.engine.inFlightCount();
    return { waiting: Math.max(0, waiting - running), running, dead, delivered_total: delivered, failed_total: failed };
  }

  healthSection() {
    const h = this.health();
    let dead = 0;
    for (const r of this.openCounts()) if (r.status === "dead") dead += r.n;
    return {
      ok: h.status !== "failing",
      status: h.status,
      dead_deliveries: dead,
      // Dead deliveries are work that will not happen by itself: /health turns degraded until replayed.
      problems: dead ? [`${dead} dead deliver${dead === 1 ? "y" : "ies"}; retry with POST /api/v1/webhook-failures/retry or /api/v1/deliveries/{id}/retry`] : [],
      subscribers: Object.fromEntries(h.subscribers.map((s) => [s.id, { status: s.status, circuit: s.circuit, consecutive_failures: s.consecutive_failures }])),
    };
  }

  prometheus(): string {
    const rows: Array<[Record<string, string>, number]> = [];
    for (const r of this.openCounts()) rows.push([{ subscriber: r.subscriber_id, status: r.status }, r.n]);
    const attempts: Array<[Record<string, string>, number]> = [];
    const failing: Array<[Record<string, string>, number]> = [];
    const circuit: Array<[Record<string, string>, number]> = [];
    const rates: Array<[Record<string, string>, number]> = [];
    const waits: Array<[Record<string, string>, number]> = [];
    const now = this.ctx.clock.now();
    for (const id of [...this.subscriberIds(), JOBS_TARGET]) {
      const st = this.engine.stateOf(id);
      for (const [outcome, n] of Object.entries(st.attempts)) attempts.push([{ subscriber: id, outcome }, n]);
      failing.push([{ subscriber: id }, st.consecutiveFailures]);
      circuit.push([{ subscriber: id }, st.openUntil > now ? 1 : 0]);
      const rate = this.engine.rateOf(id);
      if (rate.max_rate > 0) {
        rates.push([{ subscriber: id }, rate.max_rate]);
        waits.push([{ subscriber: id }, rate.rate_limit_waits]);
      }
    }
    return [
      family("ferry_webhook_deliveries", "gauge", "Deliveries waiting or failed, by subscriber and status.", rows),
      family("ferry_webhook_attempts_total", "counter", "HTTP attempts since start, by subscriber and outcome.", attempts),
      family("ferry_webhook_consecutive_failures", "gauge", "Consecutive failed attempts per subscriber.", failing),
      family("ferry_webhook_circuit_open", "gauge", "1 while a subscriber's circuit breaker is open.", circuit),
      family("ferry_webhook_max_rate", "gauge", "Configured deliveries per second (subscribers with a max_rate).", rates),
      family("ferry_webhook_rate_limited_total", "counter", "Times a subscriber's deliveries waited for its rate limit (no attempt used).", waits),
    ].join("\n");
  }
}
