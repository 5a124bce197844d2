import type { AppContext } from "../../context";
import type { Db } from "../../store/sqlite";
import type { Outcome } from "./outcome";
import type { AttemptResult } from "./send";
import * as sql from "./sql";

/** A finished attempt (or a delivery that cannot be attempted) waiting for the batched write. */
export interface Finished {
  update: sql.DeliveryUpdate;
  record: sql.AttemptRecord | null;
  row: sql.ClaimedRow;
  outcome: Outcome["kind"];
  disable?: { reason: string; url: string };
}

/** The row update and attempt record an outcome leaves; `retryAt` for a retry. */
export function finished(
  row: sql.ClaimedRow,
  token: string,
  attempt: { n: number; startedAt: number; targetId: string; url: string },
  r: AttemptResult,
  outcome: Outcome,
  retryAt: number | null,
): Finished {
  const record: sql.AttemptRecord = {
    delivery_id: row.id,
    subscriber_id: attempt.targetId,
    attempt: attempt.n,
    started_at: attempt.startedAt,
    duration_ms: r.durationMs,
    status_code: r.status,
    outcome: outcome.kind,
    error: outcome.kind === "delivered" ? null : outcome.error,
    response: r.response,
  };
  const update: sql.DeliveryUpdate = { id: row.id, token, status: "delivered", attempts: attempt.n, last_status: r.status, last_error: null, next_attempt_at: null };
  const f: Finished = { update, record, row, outcome: outcome.kind };
  if (outcome.kind === "delivered") return f;
  update.last_error = outcome.error.slice(0, 2000);
  switch (outcome.kind) {
    case "retry":
      update.status = "retrying";
      update.next_attempt_at = retryAt;
      break;
    case "dead":
      update.status = "dead";
      update.last_error = `${outcome.error} (attempt ${attempt.n} of ${row.max_attempts}: exhausted)`.slice(0, 2000);
      break;
    case "failed":
      update.status = "failed";
      break;
    case "disabled":
      update.status = "failed";
      f.disable = { reason: `HTTP 410 Gone on delivery ${row.id}`, url: attempt.url };
      break;
  }
  return f;
}

/** A delivery that is not attempted (its subscriber is gone or disabled): failed, no attempt record. */
export function notAttempted(row: sql.ClaimedRow, token: string, reason: string): Finished {
  return { update: { id: row.id, token, status: "failed", attempts: row.attempts, last_status: null, last_error: reason, next_attempt_at: null }, record: null, row, outcome: "failed" };
}

/**
 * Collects finished attempts and writes them in one write of the group commit: every delivery
 * update in one set-based UPDATE, every attempt record in one INSERT … SELECT, then the
 * operational events (`delivery.exhausted`; `subscriber.disabled` through `onDisable`).
 */
export class OutcomeRecorder {
  private pending: Finished[] = [];
  private queued = false;

  constructor(
    private ctx: AppContext,
    private onDisable: (db: Db, f: Finished, now: number) => void,
  ) {}

  add(f: Finished): void {
    this.pending.push(f);
    if (this.queued) return;
    this.queued = true;
    let batch: Finished[] = [];
    // The closure runs when the group commit runs, and takes every outcome that arrived until then.
    this.ctx.store
      .write((db) => {
        this.queued = false;
        batch = this.pending;
        this.pending = [];
        this.apply(db, batch);
      })
      .catch((err) => {
        // Not recorded (the rows keep their leases): try again shortly rather than lose the outcomes.
        this.ctx.log.error({ err, outcomes: batch.length }, "recording webhook outcomes failed; retrying in 1 s");
        setTimeout(() => batch.forEach((f) => this.add(f)), 1000).unref?.();
      });
  }

  private apply(db: Db, batch: Finished[]): void {
    const now = this.ctx.clock.now();
    const held = sql.finishDeliveries(db, batch.map((f) => f.update), now);
    const kept = batch.filter((f) => held.has(f.update.id));
    if (kept.length < batch.length) this.ctx.log.warn({ lost: batch.length - kept.length }, "webhook delivery leases were lost before their outcome was recorded");
    sql.insertAttempts(db, kept.flatMap((f) => (f.record ? [f.record] : [])));
    for (const f of kept) {
      if (f.disable) this.onDisable(db, f, now);
      if (f.outcome !== "dead") continue;
      this.ctx.bus.publish(db, {
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
  }
}
