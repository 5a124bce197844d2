import type { AppContext } from "../../context";
import { matchesPattern, type EventEnvelope } from "../../events/bus";
import type { Db } from "../../store/sqlite";
import type { Config } from "../../config/schema";
import type { SubscriberConfig } from "./config";
import { allowance, newLane, noteOutcome, setTarget, type Lane, type TargetState } from "./lane";
import { decide } from "./outcome";
import { finished, notAttempted, OutcomeRecorder, type Finished } from "./recorder";
import { sendAttempt } from "./send";
import { deliveryHeaders } from "./signing";
import { guardFor, JOBS_TARGET, jobsTarget, secretsOf, subscriberTarget, type Target } from "./targets";
import * as sql from "./sql";

export { JOBS_TARGET, JOB_WEBHOOK_SCHEDULE_MS } from "./targets";
export { HANDOFF_CAP, HANDOFF_BYTES };
export type { TargetState } from "./lane";
/** Queue kinds webhook deliveries had before the deliveries table became their queue (ops still points such requests to the delivery routes). */
export const KIND_PREFIX = "webhook:";
// A lease outlives any attempt (timeout + this); leases of a stopped process are released at start.
const LEASE_MARGIN_MS = 3_600_000;
// A due time further away than this is found by the engine's sweep instead of a long timer.
const MAX_TIMER_MS = 60_000;
// Fresh deliveries per target handed straight to its lane (leased at insert, no claim statement);
// past this many the rest wait in the table and are claimed from there.
const HANDOFF_CAP = 4096;
// …and at most this many body bytes each (large events wait in the table instead of in memory).
const HANDOFF_BYTES = 16 * 1024 * 1024;

/** A lane's share of one pump: free slots, and how many of them a claim from the table should fill. */
export interface Plan {
  lane: Lane;
  free: number;
  fromTable: number;
}

/** What a claim got for a lane, and (when fewer than asked) when its next delivery is due. */
export interface Claimed {
  rows: sql.ClaimedRow[];
  next: number | null;
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

export interface ReplayResult {
  ok: boolean;
  code?: "not_found" | "pending" | "disabled";
  message?: string;
}

/**
 * The delivery engine. The deliveries table is its lease queue and the only owner of a
 * delivery's state: a publish inserts the rows (one multi-row INSERT per event), a pump claims
 * due rows of every target with free slots (one UPDATE … RETURNING per target, all targets in one
 * transaction), attempts run concurrently, and their outcomes are written set-based in one write
 * of the group commit. Each target has its own concurrency cap, circuit breaker and token bucket,
 * so a dead endpoint only ties up its own slots. This class is the SQLite implementation (one
 * process per database); engine-pg.ts overrides the units of work that touch storage for PostgreSQL.
 */
export class WebhookEngine {
  targets = new Map<string, Target>();
  private configured: SubscriberConfig[] = [];
  protected lanes = new Map<string, Lane>();
  protected disabled = new Map<string, { at: number; reason: string | null; url: string | null }>();
  private loggedEmpty = new Set<string>();
  protected matchCache = new Map<string, Target[]>();
  private toWake = new Set<string>();
  protected recorder: { add(f: Finished): void };
  protected pumpQueued = false;
  protected running = false;
  protected abort = new AbortController();
  protected inFlight = new Map<string, Promise<void>>();
  /** The lease token of deliveries handed over in memory at insert. */
  protected handoffToken = `mem_${crypto.randomUUID()}`;
  private userAgent: string;

  constructor(protected ctx: AppContext) {
    this.userAgent = `ferry/${ctx.version}`;
    this.recorder = new OutcomeRecorder(ctx, (db, f, now) => this.disable(db, f, now));
  }

  init(): void {
    const db = this.ctx.store.db;
    for (const d of sql.loadDisabled(db)) this.disabled.set(d.subscriber_id, { at: d.disabled_at, reason: d.disabled_reason, url: d.disabled_url });
    for (const o of sql.lastOutcomes(db)) {
      const st = this.stateOf(o.subscriber_id);
      st.lastSuccessAt = o.last_success;
      st.lastFailureAt = o.last_failure;
    }
    this.applyConfig(this.ctx.config());
    for (const id of sql.openTargets(db)) this.lane(id);
    this.ctx.store.onCommit(() => {
      if (this.toWake.size === 0) return;
      for (const id of this.toWake) this.lane(id).sqlDue = true;
      this.toWake.clear();
      this.schedulePump();
    });
  }

  /** Releases leases left by a stopped process, then starts claiming. */
  start(): void {
    // Hand-offs made before the start (none in practice) are released below and claimed from the table.
    for (const lane of this.lanes.values()) {
      lane.handoff.length = 0;
      lane.handoffBytes = 0;
    }
    const released = this.ctx.store.writeNow((db) => sql.releaseAllLeases(db, this.ctx.clock.now()));
    if (released) this.ctx.log.info({ deliveries: released }, "webhook deliveries in flight when ferry stopped are due again");
    this.running = true;
    this.wakeAll();
  }

  /** Every target looks for due deliveries (the sweep, and tests that move the clock). */
  wakeAll(): void {
    for (const lane of this.lanes.values()) lane.sqlDue = true;
    this.schedulePump();
  }

  /** Attempts running now, over every target. */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  stateOf(id: string): TargetState {
    return this.lane(id).st;
  }

  protected lane(id: string): Lane {
    let lane = this.lanes.get(id);
    if (!lane) {
      const target = id === JOBS_TARGET ? jobsTarget(this.ctx.config()) : (this.targets.get(id) ?? null);
      this.lanes.set(id, (lane = newLane(id, target, this.ctx.clock.now())));
    }
    return lane;
  }

  /** (Re)builds the targets from config (start and SIGHUP): secrets, rates, caps apply at once. */
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
      next.set(s.id, subscriberTarget(s));
      // A subscriber disabled by a 410 comes back when ops point it at a different URL.
      const d = this.disabled.get(s.id);
      if (d && d.url !== null && d.url !== s.url) {
        this.disabled.delete(s.id);
        this.storeEnabled(s.id);
        this.ctx.log.info({ subscriber: s.id }, "webhook subscriber re-enabled: its url changed");
      }
    }
    this.targets = next;
    this.matchCache.clear();
    for (const lane of this.lanes.values()) setTarget(lane, lane.id === JOBS_TARGET ? jobsTarget(config) : (next.get(lane.id) ?? null), this.ctx.clock.now());
    for (const id of next.keys()) this.lane(id);
    if (this.running) this.wakeAll();
  }

  /** A subscriber disabled by a 410 is enabled again (its URL changed). */
  protected storeEnabled(id: string): void {
    this.ctx.store.writeNow((db) => sql.setDisabled(db, id, false, null, null, this.ctx.clock.now()));
  }

  configuredSubscribers(): SubscriberConfig[] {
    return this.configured;
  }

  isDisabled(id: string): { at: number; reason: string | null } | null {
    return this.disabled.get(id) ?? null;
  }

  /** Rate-limit view of a target for health and metrics. */
  rateOf(id: string): { max_rate: number; rate_limited: boolean; rate_limit_waits: number } {
    const lane = this.lanes.get(id);
    const b = lane?.bucket;
    if (!b) return { max_rate: 0, rate_limited: false, rate_limit_waits: 0 };
    return { max_rate: b.rate, rate_limited: b.available(this.ctx.clock.now()) < 1 && (lane!.sqlDue || lane!.handoff.length > 0), rate_limit_waits: b.waits };
  }

  protected matching(name: string): Target[] {
    let list = this.matchCache.get(name);
    if (!list) {
      list = [...this.targets.values()].filter((t) => !this.disabled.has(t.id) && t.events.some((p) => matchesPattern(p, name)));
      this.matchCache.set(name, list);
    }
    return list;
  }

  /**
   * The bus persister: stores a batch of events and their deliveries in the publisher's
   * transaction (one multi-row INSERT for the events, one for all their deliveries). False for an
   * id that is known (or came earlier in the batch).
   */
  persist(db: Db, events: EventEnvelope[]): boolean[] {
    const now = this.ctx.clock.now();
    const stored = events.map((e) => ({ id: e.id, name: e.name, envelope: JSON.stringify(e) }));
    const created = sql.insertEvents(db, stored, now);
    const rows: sql.NewDelivery[] = [];
    const out = events.map((event, i) => {
      // delete: a second event with the same id in this batch is a repeat, not a new event.
      if (!created.delete(event.id)) return false;
      const body = stored[i]!.envelope;
      // Operational events about a subscriber never go back to that subscriber (no feedback loop).
      const about = (event.data as { subscriber_id?: unknown } | null)?.subscriber_id;
      for (const t of this.matching(event.name)) {
        if (about !== undefined && t.id === about) continue;
        rows.push({ id: `msg_${Bun.randomUUIDv7()}`, event_id: event.id, event_name: event.name, subscriber_id: t.id, url: null, body, max_attempts: t.maxAttempts });
      }
      return true;
    });
    this.insert(db, rows, now);
    return out;
  }

  /** A job's completion webhook: one delivery of the jobs target, in the caller's transaction. */
  createJobWebhook(db: Db, url: string, eventName: string, body: string): string {
    const id = `msg_${Bun.randomUUIDv7()}`;
    const t = this.lane(JOBS_TARGET).target!;
    this.insert(db, [{ id, event_id: null, event_name: eventName, subscriber_id: JOBS_TARGET, url, body, max_attempts: t.maxAttempts }], this.ctx.clock.now());
    return id;
  }

  /**
   * Inserts new deliveries (one multi-row INSERT). While a target's hand-off has room they are
   * inserted already leased to this process and, once the write is on disk, go to the lane in
   * memory: a fresh delivery costs no claim statement. The rest wait in the table for a claim.
   */
  private insert(db: Db, rows: sql.NewDelivery[], now: number): void {
    if (rows.length === 0) return;
    const handed: Array<{ lane: Lane; row: sql.ClaimedRow }> = [];
    for (const r of rows) {
      const lane = this.lane(r.subscriber_id);
      if (lane.handoff.length + lane.reserved < HANDOFF_CAP && lane.handoffBytes + r.body.length <= HANDOFF_BYTES) {
        lane.reserved++;
        r.lease = { token: this.handoffToken, until: now + (lane.target?.timeoutMs ?? 0) + LEASE_MARGIN_MS };
        handed.push({ lane, row: { id: r.id, event_id: r.event_id, event_name: r.event_name, subscriber_id: r.subscriber_id, url: r.url, body: r.body, attempts: 0, max_attempts: r.max_attempts } });
      } else this.toWake.add(r.subscriber_id);
    }
    sql.insertDeliveries(db, rows, now);
    if (handed.length === 0) return;
    // Only a committed delivery is sent; if this write rolls back the callback never runs.
    this.ctx.store.afterCommit(() => {
      for (const h of handed) {
        h.lane.handoff.push(h.row);
        h.lane.handoffBytes += h.row.body.length;
        h.lane.reserved = Math.max(0, h.lane.reserved - 1);
      }
      this.schedulePump();
    });
  }

  /** Puts a failed, dead (or delivered) delivery back to pending with a fresh attempt budget; same body, same webhook-id. */
  replay(db: Db, id: string): ReplayResult {
    const row = sql.getDelivery(db, id);
    if (!row) return { ok: false, code: "not_found", message: `no delivery ${id}` };
    if (row.status === "pending" || row.status === "retrying") return { ok: false, code: "pending", message: `delivery ${id} is still ${row.status}` };
    if (row.subscriber_id !== JOBS_TARGET && this.disabled.has(row.subscriber_id)) {
      return { ok: false, code: "disabled", message: `subscriber ${row.subscriber_id} is disabled (it answered 410); change its url to re-enable it` };
    }
    sql.resetForReplay(db, id, this.ctx.clock.now());
    this.toWake.add(row.subscriber_id);
    return { ok: true };
  }

  // ---- claiming ----

  protected schedulePump(): void {
    if (this.pumpQueued || !this.running) return;
    this.pumpQueued = true;
    setImmediate(() => this.pump());
  }

  protected armTimer(lane: Lane, at: number): void {
    const delay = Math.max(0, at - this.ctx.clock.now());
    if (delay > MAX_TIMER_MS || !this.running) return;
    if (lane.timer && lane.timerAt <= at) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timerAt = at;
    lane.timer = setTimeout(() => {
      lane.timer = null;
      lane.sqlDue = true;
      this.schedulePump();
    }, delay);
    lane.timer.unref?.();
  }

  /**
   * Starts what every lane may start now: fresh deliveries handed over in memory, and due ones
   * claimed from the table (one UPDATE … RETURNING per lane, all lanes in one transaction; when
   * both wait, the table gets half the slots so retries are never starved). A claim needs no
   * fsync of its own: a lease lost in a crash is released at the next start and sent again.
   */
  protected pump(): void {
    this.pumpQueued = false;
    if (!this.running) return;
    const now = this.ctx.clock.now();
    const plans = this.planPump(now);
    if (plans.length === 0) return;
    const token = crypto.randomUUID();
    const claims = plans.filter((p) => p.fromTable > 0);
    let claimed = new Map<Lane, Claimed>();
    if (claims.length) {
      try {
        claimed = this.ctx.store.writeNow((db) => {
          const out = new Map<Lane, Claimed>();
          for (const { lane, fromTable } of claims) {
            const leaseUntil = now + (lane.target?.timeoutMs ?? 0) + LEASE_MARGIN_MS;
            const rows = sql.claimDue(db, lane.id, fromTable, token, leaseUntil, now);
            out.set(lane, { rows, next: rows.length < fromTable ? sql.nextDue(db, lane.id) : null });
          }
          return out;
        });
      } catch (err) {
        this.ctx.log.error({ err }, "claiming webhook deliveries failed");
        for (const { lane } of claims) this.armTimer(lane, now + 1000);
      }
    }
    this.launchPlans(plans, claimed, token, now);
  }

  /** What each lane may start now, and how much of it should come from the table. */
  protected planPump(now: number): Plan[] {
    const plans: Plan[] = [];
    for (const lane of this.lanes.values()) {
      if (!lane.sqlDue && lane.handoff.length === 0) continue;
      const { free, waitUntil } = allowance(lane, now);
      if (waitUntil !== undefined) this.armTimer(lane, waitUntil);
      if (free <= 0) continue;
      const fromTable = !lane.sqlDue ? 0 : lane.handoff.length === 0 ? free : Math.ceil(free / 2);
      plans.push({ lane, free, fromTable });
    }
    return plans;
  }

  /** Starts the claimed rows and, in the slots left, the lanes' hand-overs. */
  protected launchPlans(plans: Plan[], claimed: Map<Lane, Claimed>, token: string, now: number): void {
    for (const { lane, free, fromTable } of plans) {
      const c = claimed.get(lane);
      if (c) {
        // Fewer than asked: nothing else is due in the table until `next`.
        if (c.rows.length < fromTable) {
          lane.sqlDue = false;
          if (c.next !== null) this.armTimer(lane, c.next);
        }
      }
      const fromMemory = lane.handoff.splice(0, free - (c?.rows.length ?? 0));
      for (const r of fromMemory) lane.handoffBytes -= r.body.length;
      const started = (c?.rows.length ?? 0) + fromMemory.length;
      if (started === 0) continue;
      lane.bucket?.take(started, now);
      const probe = lane.st.openUntil > 0;
      if (probe) lane.st.probing = true;
      for (const row of c?.rows ?? []) this.launch(lane, row, token, probe);
      for (const row of fromMemory) this.launch(lane, row, this.handoffToken, probe);
    }
  }

  protected launch(lane: Lane, row: sql.ClaimedRow, token: string, probe: boolean): void {
    lane.inFlight++;
    const p = this.attempt(lane, row, token)
      .catch((err) => this.ctx.log.error({ err, delivery: row.id }, "webhook attempt failed unexpectedly"))
      .finally(() => {
        if (probe) lane.st.probing = false;
        lane.inFlight--;
        this.inFlight.delete(row.id);
        this.schedulePump();
      });
    this.inFlight.set(row.id, p);
  }

  // ---- attempts ----

  private resolve(lane: Lane, row: sql.ClaimedRow): Target | string {
    const t = lane.target;
    if (!t) return `subscriber ${row.subscriber_id} is no longer configured`;
    if (t.kind === "subscriber" && this.disabled.has(t.id)) return `subscriber ${t.id} is disabled (it answered 410)`;
    return row.url ? { ...t, url: row.url } : t;
  }

  /** One HTTP attempt of one claimed delivery; its outcome joins the next batched write. */
  private async attempt(lane: Lane, row: sql.ClaimedRow, token: string): Promise<void> {
    const target = this.resolve(lane, row);
    if (typeof target === "string") return this.recorder.add(notAttempted(row, token, target));
    const config = this.ctx.config();
    const wh = config.webhooks;
    const attempt = row.attempts + 1;
    const startedAt = this.ctx.clock.now();
    const headers = deliveryHeaders(target, row, attempt, this.userAgent);
    const result = await sendAttempt(target.url, headers, row.body, {
      timeoutMs: target.timeoutMs,
      signal: this.abort.signal,
      guard: guardFor(target, config),
      capture: wh.response_capture,
      secrets: this.secretsFor(lane.target!, config),
    });
    // Cut short by shutdown: not an attempt; the lease is released and it is sent again later.
    if (this.abort.signal.aborted) return;
    const outcome = decide(target, result, attempt, row.max_attempts);
    const now = this.ctx.clock.now();
    const tripped = noteOutcome(lane.st, target, outcome, wh.circuit_breaker, now);
    let retryAt: number | null = null;
    if (outcome.kind === "retry") {
      // A retry never comes before the circuit lets attempts through again.
      retryAt = now + (tripped ? Math.max(outcome.delayMs, lane.st.openUntil - now) : outcome.delayMs);
      this.armTimer(lane, retryAt);
    }
    this.recorder.add(finished(row, token, { n: attempt, startedAt, targetId: target.id, url: target.url }, result, outcome, retryAt));
  }

  // Per target object: a reload builds new targets, so the list follows secret and token changes.
  private secretLists = new WeakMap<Target, string[]>();
  private secretsFor(t: Target, config: Config): string[] {
    let list = this.secretLists.get(t);
    if (!list) this.secretLists.set(t, (list = secretsOf(t, config)));
    return list;
  }

  /** A 410: the subscriber is disabled (stored) until its URL changes; `subscriber.disabled` is published. */
  private disable(db: Db, f: Finished, now: number): void {
    const { row, disable: d } = f;
    if (!d || this.disabled.has(row.subscriber_id)) return;
    sql.setDisabled(db, row.subscriber_id, true, d.reason, d.url, now);
    this.disabled.set(row.subscriber_id, { at: now, reason: d.reason, url: d.url });
    this.matchCache.clear();
    this.ctx.log.warn({ subscriber: row.subscriber_id }, "webhook subscriber disabled: it answered 410 Gone");
    this.ctx.bus.publish(db, { name: "subscriber.disabled", data: { subscriber_id: row.subscriber_id, reason: d.reason, delivery_id: row.id } });
  }

  /** Stops claiming; attempts still running at the deadline are cut short and their deliveries released. */
  async stop(deadlineMs: number): Promise<void> {
    this.running = false;
    for (const lane of this.lanes.values()) if (lane.timer) clearTimeout(lane.timer);
    if (this.inFlight.size) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight.values()]), new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
      clearTimeout(timer);
    }
    const left = [...this.inFlight.keys()];
    if (left.length) {
      this.abort.abort(new Error("shutting down"));
      await Promise.allSettled([...this.inFlight.values()]);
      this.ctx.log.warn({ released: left.length }, "released webhook deliveries still in flight at the shutdown deadline");
    }
    // Deliveries handed over but not started, and those cut short, are due again at the next start.
    const waiting = [...this.lanes.values()].flatMap((l) => {
      l.handoffBytes = 0;
      return l.handoff.splice(0).map((r) => r.id);
    });
    if (left.length || waiting.length) {
      this.ctx.store.flush();
      this.ctx.store.writeNow((db) => sql.releaseLeases(db, [...left, ...waiting]));
    }
  }
}
