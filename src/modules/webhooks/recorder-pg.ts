import type { AppContext } from "../../context";
import type { PublishInput } from "../../events/bus";
import type { PostgresDriver } from "../../store/driver/postgres";
import type { PgTx } from "../../store/postgres/client";
import type { PgWriteContext } from "../../store/postgres/group-commit";
import type { Finished } from "./recorder";
import * as pg from "./sql-pg";

/** What the recorder needs from the engine: the disabled set it may only change after a commit. */
export interface DisableHooks {
  isDisabled(id: string): boolean;
  /** After the commit that stored the 410's disable. */
  disabled(id: string, entry: { at: number; reason: string | null; url: string | null }): void;
}

/**
 * OutcomeRecorder on PostgreSQL: the outcomes that finished until the group commit runs go into
 * one write — one UPDATE over unnest() for the deliveries (each guarded by its lease token), one
 * INSERT for the attempt records, then the operational events in the same transaction. The
 * batch is taken once, outside any retry of the write, and memory changes wait for the commit.
 */
export class PgOutcomeRecorder {
  private pending: Finished[] = [];
  private queued = false;
  private writes = new Set<Promise<unknown>>();

  constructor(
    private ctx: AppContext,
    private driver: PostgresDriver,
    private hooks: DisableHooks,
  ) {}

  add(f: Finished): void {
    this.pending.push(f);
    if (this.queued) return;
    this.queued = true;
    let batch: Finished[] | null = null;
    const take = () => {
      // First run of the write takes what arrived; a re-run (a sibling write failed) reuses it.
      if (batch === null) {
        this.queued = false;
        batch = this.pending;
        this.pending = [];
      }
      return batch;
    };
    const p = this.driver
      .write((tx, w) => this.apply(tx, w, take()))
      .catch((err) => {
        const lost = take();
        // Not recorded (the rows keep their leases): try again shortly rather than lose the outcomes.
        this.ctx.log.error({ err, outcomes: lost.length }, "recording webhook outcomes failed; retrying in 1 s");
        setTimeout(() => lost.forEach((f) => this.add(f)), 1000).unref?.();
      })
      .finally(() => this.writes.delete(p));
    this.writes.add(p);
  }

  /** Resolves once every outcome added so far is written (shutdown, before leases are released). */
  async flush(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes]);
  }

  private async apply(tx: PgTx, w: PgWriteContext, batch: Finished[]): Promise<void> {
    const now = this.ctx.clock.now();
    const held = await pg.finishDeliveries(tx, batch.map((f) => f.update), now);
    const kept = batch.filter((f) => held.has(f.update.id));
    await pg.insertAttempts(tx, kept.flatMap((f) => (f.record ? [f.record] : [])));
    const events: PublishInput[] = [];
    const disabledNow = new Map<string, { at: number; reason: string | null; url: string | null }>();
    for (const f of kept) {
      const d = f.disable;
      if (d && !this.hooks.isDisabled(f.row.subscriber_id) && !disabledNow.has(f.row.subscriber_id)) {
        await pg.setDisabled(tx, f.row.subscriber_id, true, d.reason, d.url, now);
        disabledNow.set(f.row.subscriber_id, { at: now, reason: d.reason, url: d.url });
        events.push({ name: "subscriber.disabled", data: { subscriber_id: f.row.subscriber_id, reason: d.reason, delivery_id: f.row.id } });
      }
      if (f.outcome !== "dead") continue;
      events.push({
        name: "delivery.exhausted",
        data: {
          delivery_id: f.row.id,
          subscriber_id: f.row.subscriber_id,
          event_id: f.row.event_id,
          event_name: f.row.event_name,
          attempts: f.update.attempts,
          last_error: (f.update.last_error ?? "").slice(0, 500),
        },
      });
    }
    if (events.length) await this.ctx.bus.publishManyPg(tx, w, events);
    w.afterCommit(() => {
      if (kept.length < batch.length) this.ctx.log.warn({ lost: batch.length - kept.length }, "webhook delivery leases were lost before their outcome was recorded");
      for (const [id, entry] of disabledNow) {
        this.hooks.disabled(id, entry);
        this.ctx.log.warn({ subscriber: id }, "webhook subscriber disabled: it answered 410 Gone");
      }
    });
  }
}
