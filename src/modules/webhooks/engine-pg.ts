import type { AppContext } from "../../context";
import type { EventEnvelope } from "../../events/bus";
import type { PgTx } from "../../store/postgres/client";
import type { PgWriteContext } from "../../store/postgres/group-commit";
import type { PostgresStorage } from "../../store/storage";
import { HANDOFF_BYTES, HANDOFF_CAP, JOBS_TARGET, WebhookEngine, type Claimed, type Plan, type ReplayResult } from "./engine";
import type { Lane } from "./lane";
import { PgOutcomeRecorder } from "./recorder-pg";
import type { ClaimedRow, NewDelivery } from "./sql";
import * as pg from "./sql-pg";

/** The NOTIFY kind that wakes every node's engine: deliveries became claimable in the table. */
export const DELIVERIES_KIND = "webhooks.deliveries";
// How often the synchronous views (backlog, /health, /metrics), other nodes' 410s and deliveries
// nobody announced (lapsed leases, retries of a node that died) are read again.
const REFRESH_MS = 2000;

/** A delivery handed over in memory, with the end of the lease it was inserted under. */
type Handed = ClaimedRow & { leaseUntil: number };

/**
 * The delivery engine on PostgreSQL, N nodes on one database. Same lanes, attempts and outcomes
 * as on SQLite (engine.ts); what differs is the storage of each unit of work:
 * - a lease has an end (attempt timeout + queue.lease), and a claim also takes rows whose lease
 *   lapsed, so deliveries in flight on a node that died are sent again by another (same
 *   webhook-id: at least once). Nothing is released at start: other nodes hold leases.
 * - claims are FOR UPDATE SKIP LOCKED in one group-commit write, and run one at a time per node.
 * - fresh deliveries are inserted leased to this node and handed to its lanes after the commit;
 *   the rest (over the hand-over cap, replays) NOTIFY every node.
 * - a hand-over that waited in memory for half the lease margin is released to the table
 *   instead of being sent on a lease about to lapse.
 */
export class PgWebhookEngine extends WebhookEngine {
  private claiming: Promise<void> | null = null;
  private pumpAgain = false;
  private loaded: Promise<void> | null = null;
  private stopped = false;
  private refreshTimer: ReturnType<typeof setInterval> | null = null;
  private refreshing: Promise<void> | null = null;
  /** Lease token of each delivery being attempted (released by id + token at shutdown). */
  private tokens = new Map<string, string>();
  /** Open and problem deliveries per subscriber and status, as last read (the synchronous views). */
  openCounts: Array<{ subscriber_id: string; status: string; n: number }> = [];
  private pgRecorder: PgOutcomeRecorder;

  constructor(
    ctx: AppContext,
    private storage: PostgresStorage,
  ) {
    super(ctx);
    this.pgRecorder = new PgOutcomeRecorder(ctx, storage.driver, {
      isDisabled: (id) => this.disabled.has(id),
      disabled: (id, entry) => {
        this.disabled.set(id, entry);
        this.matchCache.clear();
      },
    });
    this.recorder = this.pgRecorder;
  }

  private get driver() {
    return this.storage.driver;
  }

  private leaseUntil(lane: Lane, now: number): number {
    return now + (lane.target?.timeoutMs ?? 0) + this.ctx.config().queue.lease;
  }

  override init(): void {
    this.applyConfig(this.ctx.config());
    // Any node may claim a job webhook another node inserted: its lane exists from the start.
    this.lane(JOBS_TARGET);
    this.driver.onJobsAvailable((kinds) => {
      if (kinds.includes(DELIVERIES_KIND) || kinds.includes("*")) this.wakeAll();
    });
    this.loaded = this.load().catch((err) => this.ctx.log.error({ err }, "loading webhook subscriber state failed; continuing without it"));
  }

  private async load(): Promise<void> {
    const sql = this.driver.sql;
    const [disabled, outcomes, open] = await Promise.all([pg.loadDisabled(sql), pg.lastOutcomes(sql), pg.openTargets(sql)]);
    for (const d of disabled) this.disabled.set(d.subscriber_id, { at: d.disabled_at, reason: d.disabled_reason, url: d.disabled_url });
    for (const o of outcomes) {
      const st = this.stateOf(o.subscriber_id);
      st.lastSuccessAt = o.last_success;
      st.lastFailureAt = o.last_failure;
    }
    // Again, now that the disabled set is known (a changed URL re-enables its subscriber).
    this.applyConfig(this.ctx.config());
    for (const id of open) this.lane(id);
  }

  protected override storeEnabled(id: string): void {
    this.driver
      .write((tx) => pg.setDisabled(tx, id, false, null, null, this.ctx.clock.now()))
      .catch((err) => this.ctx.log.error({ err, subscriber: id }, "storing a re-enabled webhook subscriber failed"));
  }

  /** Starts claiming once the state is loaded; leases of other nodes (and of this one before a restart) lapse on their own. */
  override start(): void {
    void this.loaded!.then(async () => {
      if (this.stopped) return;
      await this.refresh();
      this.running = true;
      // A tick while a read still runs (a slow database) is skipped, not queued.
      this.refreshTimer = setInterval(() => void (this.refreshing ?? this.refresh()), REFRESH_MS);
      this.refreshTimer.unref?.();
      this.wakeAll();
    });
  }

  /**
   * Reads the counts behind backlog(), /health and /metrics, and 410s recorded by other nodes.
   * A call while a read runs waits for it and reads again (so it sees what committed before the call).
   */
  refresh(): Promise<void> {
    const run = (this.refreshing ?? Promise.resolve()).then(() => this.readState());
    this.refreshing = run;
    void run.finally(() => {
      if (this.refreshing === run) this.refreshing = null;
    });
    return run;
  }

  private async readState(): Promise<void> {
    const startedAt = this.ctx.clock.now();
    try {
      const [counts, disabled, claimable] = await Promise.all([
        pg.openStats(this.driver.sql),
        pg.loadDisabled(this.driver.sql),
        pg.claimableTargets(this.driver.sql, startedAt),
      ]);
      this.openCounts = counts;
      let wake = false;
      for (const id of claimable) {
        const lane = this.lane(id);
        if (lane.sqlDue) continue;
        lane.sqlDue = true;
        wake = true;
      }
      if (wake) this.schedulePump();
      let changed = false;
      const stored = new Set(disabled.map((d) => d.subscriber_id));
      for (const d of disabled) {
        if (this.disabled.has(d.subscriber_id)) continue;
        this.disabled.set(d.subscriber_id, { at: d.disabled_at, reason: d.disabled_reason, url: d.disabled_url });
        changed = true;
      }
      // Re-enabled by another node (its URL changed); a disable this node committed after the read started stays.
      for (const [id, d] of this.disabled) {
        if (stored.has(id) || d.at >= startedAt) continue;
        this.disabled.delete(id);
        changed = true;
      }
      if (changed) this.matchCache.clear();
    } catch (err) {
      this.ctx.log.warn({ err }, "reading webhook delivery counts failed");
    }
  }

  /** The bus persister on PostgreSQL: the batch's events in one INSERT, all their deliveries in another. */
  async persistPg(tx: PgTx, w: PgWriteContext, events: EventEnvelope[]): Promise<boolean[]> {
    const now = this.ctx.clock.now();
    const stored = events.map((e) => ({ id: e.id, name: e.name, envelope: JSON.stringify(e) }));
    const created = await pg.insertEvents(tx, stored, now);
    const rows: NewDelivery[] = [];
    const out = events.map((event, i) => {
      if (!created.delete(event.id)) return false;
      const body = stored[i]!.envelope;
      const about = (event.data as { subscriber_id?: unknown } | null)?.subscriber_id;
      for (const t of this.matching(event.name)) {
        if (about !== undefined && t.id === about) continue;
        rows.push({ id: `msg_${Bun.randomUUIDv7()}`, event_id: event.id, event_name: event.name, subscriber_id: t.id, url: null, body, max_attempts: t.maxAttempts });
      }
      return true;
    });
    await this.insertPg(tx, w, rows, now);
    return out;
  }

  /** createJobWebhook() on PostgreSQL: one delivery of the jobs target, inside the caller's write. */
  async createJobWebhookPg(tx: PgTx, w: PgWriteContext, url: string, eventName: string, body: string): Promise<string> {
    const id = `msg_${Bun.randomUUIDv7()}`;
    const t = this.lane(JOBS_TARGET).target!;
    await this.insertPg(tx, w, [{ id, event_id: null, event_name: eventName, subscriber_id: JOBS_TARGET, url, body, max_attempts: t.maxAttempts }], this.ctx.clock.now());
    return id;
  }

  /** replay() on PostgreSQL, inside the caller's write; every node is woken (any may claim it). */
  async replayPg(tx: PgTx, w: PgWriteContext, id: string): Promise<ReplayResult> {
    const row = await pg.getDelivery(tx, id);
    if (!row) return { ok: false, code: "not_found", message: `no delivery ${id}` };
    if (row.status === "pending" || row.status === "retrying") return { ok: false, code: "pending", message: `delivery ${id} is still ${row.status}` };
    if (row.subscriber_id !== JOBS_TARGET && this.disabled.has(row.subscriber_id)) {
      return { ok: false, code: "disabled", message: `subscriber ${row.subscriber_id} is disabled (it answered 410); change its url to re-enable it` };
    }
    if (!(await pg.resetForReplay(tx, id, this.ctx.clock.now()))) return { ok: false, code: "pending", message: `delivery ${id} is pending again (replayed meanwhile)` };
    w.notify(DELIVERIES_KIND);
    w.afterCommit(() => {
      this.lane(row.subscriber_id).sqlDue = true;
      this.schedulePump();
    });
    return { ok: true };
  }

  /**
   * Inserts new deliveries; while a lane's hand-over has room they are inserted leased to this
   * node and join the lane after the commit. No JS state changes before the commit (a group
   * commit may run this write again).
   */
  private async insertPg(tx: PgTx, w: PgWriteContext, rows: NewDelivery[], now: number): Promise<void> {
    if (rows.length === 0) return;
    const handed: Array<{ lane: Lane; row: Handed }> = [];
    const toTable = new Set<string>();
    const taken = new Map<Lane, { n: number; bytes: number }>();
    for (const r of rows) {
      const lane = this.lane(r.subscriber_id);
      const t = taken.get(lane) ?? { n: 0, bytes: 0 };
      taken.set(lane, t);
      if (lane.handoff.length + t.n < HANDOFF_CAP && lane.handoffBytes + t.bytes + r.body.length <= HANDOFF_BYTES) {
        t.n++;
        t.bytes += r.body.length;
        const until = this.leaseUntil(lane, now);
        r.lease = { token: this.handoffToken, until };
        handed.push({ lane, row: { id: r.id, event_id: r.event_id, event_name: r.event_name, subscriber_id: r.subscriber_id, url: r.url, body: r.body, attempts: 0, max_attempts: r.max_attempts, leaseUntil: until } });
      } else toTable.add(r.subscriber_id);
    }
    await pg.insertDeliveries(tx, rows, now);
    if (toTable.size) w.notify(DELIVERIES_KIND);
    w.afterCommit(() => {
      for (const h of handed) {
        h.lane.handoff.push(h.row);
        h.lane.handoffBytes += h.row.body.length;
      }
      for (const id of toTable) this.lane(id).sqlDue = true;
      this.schedulePump();
    });
  }

  // ---- claiming ----

  protected override pump(): void {
    this.pumpQueued = false;
    if (!this.running) return;
    // One claim at a time: the plans count free slots, which a second claim would count again.
    if (this.claiming) {
      this.pumpAgain = true;
      return;
    }
    const now = this.ctx.clock.now();
    this.releaseStale(now);
    const plans = this.planPump(now);
    if (plans.length === 0) return;
    const token = crypto.randomUUID();
    const claims = plans.filter((p) => p.fromTable > 0);
    // Lanes with only hand-overs start now; those claiming start once their claim is committed.
    this.launchPlans(
      plans.filter((p) => p.fromTable === 0),
      new Map(),
      token,
      now,
    );
    if (claims.length === 0) return;
    this.claiming = this.claim(claims, token, now).then(async (claimed) => {
      if (!this.running) {
        // Stopped meanwhile: what was claimed goes back at once.
        const leases = [...claimed.values()].flatMap((c) => c.rows.map((r) => ({ id: r.id, token })));
        await this.driver
          .write((tx, w) => {
            w.notify(DELIVERIES_KIND);
            return pg.releaseLeases(tx, leases);
          })
          .catch(() => {});
      } else this.launchPlans(claims, claimed, token, this.ctx.clock.now());
      this.claiming = null;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.schedulePump();
      }
    });
  }

  private async claim(claims: Plan[], token: string, now: number): Promise<Map<Lane, Claimed>> {
    try {
      return await this.driver.write(async (tx) => {
        const out = new Map<Lane, Claimed>();
        await Promise.all(
          claims.map(async ({ lane, fromTable }) => {
            const rows = await pg.claimDue(tx, lane.id, fromTable, token, this.leaseUntil(lane, now), now);
            out.set(lane, { rows, next: rows.length < fromTable ? await pg.nextDue(tx, lane.id) : null });
          }),
        );
        return out;
      });
    } catch (err) {
      this.ctx.log.error({ err }, "claiming webhook deliveries failed");
      for (const { lane } of claims) this.armTimer(lane, now + 1000);
      return new Map();
    }
  }

  /** Hand-overs that waited past half the lease margin go back to the table (claimed again at once, on a fresh lease). */
  private releaseStale(now: number): void {
    const margin = this.ctx.config().queue.lease / 2;
    const stale: Array<{ id: string; token: string }> = [];
    const lanes: Lane[] = [];
    for (const lane of this.lanes.values()) {
      const timeout = lane.target?.timeoutMs ?? 0;
      let n = 0;
      while (n < lane.handoff.length && (lane.handoff[n] as Handed).leaseUntil - now < timeout + margin) n++;
      if (n === 0) continue;
      for (const r of lane.handoff.splice(0, n)) {
        lane.handoffBytes -= r.body.length;
        stale.push({ id: r.id, token: this.handoffToken });
      }
      lanes.push(lane);
    }
    if (stale.length === 0) return;
    this.driver
      .write((tx, w) => {
        w.afterCommit(() => {
          for (const lane of lanes) lane.sqlDue = true;
          this.schedulePump();
        });
        return pg.releaseLeases(tx, stale);
      })
      .catch((err) => this.ctx.log.warn({ err, deliveries: stale.length }, "releasing waiting webhook deliveries failed; they are claimed when their lease lapses"));
  }

  protected override launch(lane: Lane, row: ClaimedRow, token: string, probe: boolean): void {
    this.tokens.set(row.id, token);
    super.launch(lane, row, token, probe);
    void this.inFlight.get(row.id)?.finally(() => this.tokens.delete(row.id));
  }

  /** Stops claiming; attempts still running at the deadline are cut short, and this node's leases released. */
  override async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    this.running = false;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const lane of this.lanes.values()) if (lane.timer) clearTimeout(lane.timer);
    await this.claiming;
    if (this.inFlight.size) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight.values()]), new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
      clearTimeout(timer);
    }
    const left = [...this.inFlight.keys()].map((id) => ({ id, token: this.tokens.get(id)! }));
    if (left.length) {
      this.abort.abort(new Error("shutting down"));
      await Promise.allSettled([...this.inFlight.values()]);
      this.ctx.log.warn({ released: left.length }, "released webhook deliveries still in flight at the shutdown deadline");
    }
    const waiting = [...this.lanes.values()].flatMap((l) => {
      l.handoffBytes = 0;
      return l.handoff.splice(0).map((r) => ({ id: r.id, token: this.handoffToken }));
    });
    // Outcomes first: a finished attempt's row must not be released (and sent again) before its outcome is stored.
    await this.pgRecorder.flush();
    if (left.length || waiting.length) {
      // NOTIFY: another node sends them now rather than at its next refresh.
      await this.driver
        .write((tx, w) => {
          w.notify(DELIVERIES_KIND);
          return pg.releaseLeases(tx, [...left, ...waiting]);
        })
        .catch((err) => this.ctx.log.warn({ err }, "releasing webhook leases at shutdown failed; they lapse on their own"));
    }
  }
}
