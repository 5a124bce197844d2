import { z } from "zod";
import { HttpError } from "../../http/errors";
import { PermanentFailure, RetryLater, type Job, type JobContext } from "../../queue";
import type { TxResult } from "../../store/driver/types";
import type { WriteTx } from "../../store/storage";
import { chatwootToZendesk } from "./chatwoot-to-zendesk";
import { ApiError } from "./clients";
import { CW_TO_ZD, ZD_TO_CW } from "./markers";
import { parseChatwoot, parseZendesk, type SyncPayload } from "./model";
import type { BridgeRuntime, Outcome } from "./runtime";
import type * as sql from "./sql";
import { zendeskToChatwoot } from "./zendesk-to-chatwoot";

function retryable(err: unknown): Error {
  // A stored payload that no longer parses (it was checked at intake) will not parse on retry either.
  if (err instanceof HttpError || err instanceof z.ZodError) return new PermanentFailure(err.message);
  if (!(err instanceof ApiError)) return err instanceof Error ? err : new Error(String(err));
  if (err.status === 429) return new RetryLater(err.message, err.retryAfterMs ?? 60_000);
  // 401/403: wrong credentials get fixed in the config (SIGHUP) and the job then succeeds; keep retrying with backoff.
  if (err.status === 404 || err.status === 422 || err.status === 400 || err.status === 413) return new PermanentFailure(err.message);
  return err;
}

const directionOf = (p: SyncPayload): sql.Direction => (p.source === "zendesk" ? "zendesk_to_chatwoot" : "chatwoot_to_zendesk");

/**
 * False for a webhook dropped by its event type alone (a Chatwoot typing or status event, a
 * Zendesk event that is no comment): it reads no state and calls no API, so on PostgreSQL it needs
 * no cluster-wide turn (turn-pg.ts). A payload that no longer parses fails for good either way.
 */
export function needsTurn(p: SyncPayload): boolean {
  try {
    return p.source === "zendesk" ? !("skip" in parseZendesk(p.body)) : parseChatwoot(p.body).event === "message_created";
  } catch {
    return false;
  }
}

/** The bridge.sync job: one stored webhook, synced in its direction; failures recorded for /health and the day file. */
export class BridgeSync {
  constructor(private rt: BridgeRuntime) {}

  async handle(job: Job<SyncPayload>, jc: JobContext<WriteTx>): Promise<Outcome> {
    let out: Outcome;
    try {
      out = job.payload.source === "zendesk" ? await zendeskToChatwoot(this.rt, job.payload.body, jc.signal) : await chatwootToZendesk(this.rt, job.payload.body, jc.signal);
    } catch (err) {
      throw retryable(err);
    }
    if ("forwarded" in out) {
      const now = this.rt.ctx.clock.now();
      const detail = out.detail;
      jc.onComplete((tx) => this.rt.state.recordStatusIn(tx, directionOf(job.payload), true, detail, now));
    }
    return out;
  }

  /** Records a failed attempt (status for /health, a day-file line); runs in the queue's failure transaction. */
  onFail(tx: WriteTx, job: Job<SyncPayload>, error: Error, final: boolean): TxResult<void> {
    const direction = directionOf(job.payload);
    const label = direction === "zendesk_to_chatwoot" ? ZD_TO_CW : CW_TO_ZD;
    const recorded = this.rt.state.recordStatusIn(tx, direction, false, error.message, this.rt.ctx.clock.now());
    const next = final ? "gave up (job is dead; replay it after fixing the cause)" : error instanceof RetryLater ? `retry in ${Math.ceil(error.delayMs / 1000)} s` : "will retry";
    const line = `❌ ${label}: ${describe(job.payload)} failed, attempt ${job.attempt}/${job.maxAttempts}, ${next}: ${error.message}`;
    this.rt.state.afterFailure(tx, `${job.id}:${job.attempt}`, () => this.rt.day.write(final ? "ERROR" : "WARN", line));
    return recorded;
  }
}

function describe(p: SyncPayload): string {
  const b = (p.body ?? {}) as Record<string, any>;
  if (p.source === "chatwoot") return `conversation ${b.conversation?.id ?? "?"} message ${b.id ?? "?"}`;
  const ticket = b.detail?.id ?? b.ticket_id ?? /zen:ticket:(\d+)/.exec(String(b.subject ?? ""))?.[1] ?? "?";
  const comment = b.event?.comment?.id ?? b.comment_id;
  return `ticket ${ticket}${comment ? ` comment ${comment}` : ""}`;
}
