import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import type { AppContext } from "../../context";
import { HttpError, validate } from "../../http/errors";
import { DayFileLog } from "../../log/dayfile";
import { PermanentFailure, RetryLater, type Job, type JobContext } from "../../queue";
import type { Db } from "../../store/sqlite";
import { ApiError, ChatwootClient, ticketOf, ZendeskClient } from "./clients";
import type { BridgeConfig } from "./config";
import { chatwootWebhook, zendeskEvent, zendeskTrigger, type BridgeJobPayload, type ChatwootWebhook } from "./model";
import { checkChatwoot, checkZendesk } from "./signatures";
import * as sql from "./sql";

/** One job kind for both directions, one at a time: an echo webhook is handled only after the write it echoes is recorded. */
export const JOB_KIND = "bridge.sync";
/** Tags added to a ticket the bridge comments on: they mark the ticket (for people and triggers), never a later comment. */
export const LOOP_TAGS = ["from_chatwoot", "api_integration", "no_webhook"];
/** source_id prefix of the Chatwoot messages the bridge posts. */
export const MESSAGE_MARKER = "zendesk-comment:";

const ZD_TO_CW = "Zendesk → Chatwoot";
const CW_TO_ZD = "Chatwoot → Zendesk";

interface SyncPayload extends BridgeJobPayload {
  source: "zendesk" | "chatwoot";
}

/** A Zendesk comment in either webhook shape. */
interface ZendeskComment {
  shape: "event" | "trigger";
  ticketId: string;
  requesterId?: string;
  requesterName?: string;
  requesterEmail?: string;
  commentId?: string;
  text: string;
  isPublic?: boolean;
  authorId?: string;
  authorIsStaff?: boolean;
  /** {{current_user.id}} of a trigger body: who made the update. */
  updaterId?: string;
}

type Outcome = { forwarded: true; detail: string } | { skipped: string };

const textKey = (ticketId: string, text: string) =>
  `zd-text:${ticketId}:${createHash("sha256").update(text.trim().replace(/\s+/g, " ")).digest("hex").slice(0, 32)}`;

/** Reads a Zendesk webhook body; 422 when it is neither an event-subscription nor a trigger body. */
export function parseZendesk(body: unknown): { comment: ZendeskComment } | { skip: string } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(422, "validation_failed", "invalid request body: expected a JSON object from a Zendesk webhook");
  }
  const b = body as Record<string, unknown>;
  if (typeof b.type === "string") {
    const e = validate(zendeskEvent, body, "Zendesk event");
    if (!e.type.endsWith("ticket.comment_added")) return { skip: `event ${e.type} is not a new comment` };
    const ticketId = e.detail?.id ?? /^zen:ticket:(\d+)$/.exec(e.subject ?? "")?.[1];
    if (!ticketId) throw new HttpError(422, "validation_failed", "invalid Zendesk event: detail.id: expected the ticket id (or subject zen:ticket:<id>)", [{ path: "detail.id", message: "required" }]);
    const c = e.event?.comment;
    if (!c) throw new HttpError(422, "validation_failed", "invalid Zendesk event: event.comment: required for ticket.comment_added", [{ path: "event.comment", message: "required" }]);
    return {
      comment: {
        shape: "event",
        ticketId,
        requesterId: e.detail?.requester_id,
        commentId: c.id,
        text: c.body ?? "",
        isPublic: c.is_public,
        authorId: c.author?.id,
        authorIsStaff: c.author?.is_staff,
      },
    };
  }
  if (!("ticket_id" in b)) {
    throw new HttpError(
      422,
      "validation_failed",
      "invalid request body: expected a Zendesk event-subscription body (type: zen:event-type:…) or a trigger body with ticket_id",
      [{ path: "ticket_id", message: "required" }],
    );
  }
  const t = validate(zendeskTrigger, body, "Zendesk trigger body");
  // With both placeholders sent, a differing latest_comment means the newest comment is private.
  let isPublic = t.event?.comment?.is_public;
  if (t.latest_comment !== undefined && t.latest_public_comment !== undefined) isPublic = t.latest_comment.trim() === t.latest_public_comment.trim() && isPublic !== false;
  return {
    comment: {
      shape: "trigger",
      ticketId: t.ticket_id,
      requesterId: t.requester_id,
      requesterName: t.requester_name,
      requesterEmail: t.requester_email,
      commentId: t.comment_id ?? t.event?.comment?.id,
      text: t.latest_comment ?? t.event?.comment?.body ?? t.latest_public_comment ?? "",
      isPublic,
      updaterId: t.current_user_id,
    },
  };
}

function retryable(err: unknown): Error {
  // A stored payload that no longer parses (it was checked at intake) will not parse on retry either.
  if (err instanceof HttpError || err instanceof z.ZodError) return new PermanentFailure(err.message);
  if (!(err instanceof ApiError)) return err instanceof Error ? err : new Error(String(err));
  if (err.status === 429) return new RetryLater(err.message, err.retryAfterMs ?? 60_000);
  // 401/403: wrong credentials get fixed in the config (SIGHUP) and the job then succeeds; keep retrying with backoff.
  if (err.status === 404 || err.status === 422 || err.status === 400 || err.status === 413) return new PermanentFailure(err.message);
  return err;
}

export class BridgeService {
  private day: DayFileLog;
  private log: Logger;
  readonly zendesk: ZendeskClient;
  readonly chatwoot: ChatwootClient;
  private meId: Promise<string> | null = null;

  constructor(private ctx: AppContext) {
    this.log = ctx.log.child({ component: "bridge" });
    this.zendesk = new ZendeskClient(() => this.cfg());
    this.chatwoot = new ChatwootClient(() => this.cfg());
    this.day = this.makeDayLog();
    ctx.onReload(() => {
      this.meId = null;
      this.day = this.makeDayLog();
    });
  }

  cfg(): BridgeConfig {
    return this.ctx.config().bridge;
  }

  private makeDayLog(): DayFileLog {
    return new DayFileLog({ dir: this.cfg().log_dir, now: () => this.ctx.clock.now(), secrets: () => this.secrets() });
  }

  private secrets(): string[] {
    const c = this.cfg();
    const basic = Buffer.from(`${c.zendesk.email}/token:${c.zendesk.api_token}`).toString("base64");
    return [c.chatwoot.api_token, c.chatwoot.webhook_secret, c.chatwoot.path_token, c.zendesk.api_token, c.zendesk.signing_secret, basic].filter(Boolean);
  }

  private requireEnabled(): void {
    if (!this.cfg().enabled) {
      throw new HttpError(503, "bridge_disabled", "the Zendesk ↔ Chatwoot bridge is disabled (set bridge.enabled: true and its credentials in the config)");
    }
  }

  // ---- webhook intake: check, store, answer ----

  async receiveZendesk(headers: Headers, raw: string, body: unknown): Promise<void> {
    this.requireEnabled();
    checkZendesk(this.cfg(), headers, raw, this.ctx.clock.now());
    const parsed = parseZendesk(body);
    const eventId = (body as { id?: unknown }).id;
    const invocation = headers.get("x-zendesk-webhook-invocation-id");
    // Zendesk retries a delivery with the same event/invocation id: enqueue it once.
    const dedupeKey =
      "comment" in parsed && parsed.comment.shape === "event" && typeof eventId === "string" && eventId
        ? `bridge:zendesk:event:${eventId}`
        : invocation
          ? `bridge:zendesk:invocation:${invocation}`
          : undefined;
    await this.enqueue({ source: "zendesk", body, received_at: this.ctx.clock.now() }, dedupeKey);
  }

  async receiveChatwoot(headers: Headers, raw: string, body: unknown, pathToken: string | undefined): Promise<void> {
    this.requireEnabled();
    checkChatwoot(this.cfg(), headers, raw, pathToken, this.ctx.clock.now());
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new HttpError(422, "validation_failed", "invalid request body: expected a JSON object from a Chatwoot webhook");
    }
    const b = validate(chatwootWebhook, body, "Chatwoot webhook");
    const delivery = headers.get("x-chatwoot-delivery");
    const dedupeKey =
      b.event === "message_created" && b.id !== undefined ? `bridge:chatwoot:message:${b.id}` : delivery ? `bridge:chatwoot:delivery:${delivery}` : undefined;
    await this.enqueue({ source: "chatwoot", body, received_at: this.ctx.clock.now() }, dedupeKey);
  }

  private enqueue(payload: SyncPayload, dedupeKey: string | undefined): Promise<unknown> {
    return this.ctx.store.write((db) => this.ctx.queue.enqueue(db, { kind: JOB_KIND, payload, dedupeKey, maxAttempts: this.cfg().max_attempts }));
  }

  // ---- jobs ----

  async handle(job: Job<SyncPayload>, jc: JobContext): Promise<Outcome> {
    const direction: sql.Direction = job.payload.source === "zendesk" ? "zendesk_to_chatwoot" : "chatwoot_to_zendesk";
    let out: Outcome;
    try {
      out = job.payload.source === "zendesk" ? await this.zendeskToChatwoot(job.payload.body, jc.signal) : await this.chatwootToZendesk(job.payload.body, jc.signal);
    } catch (err) {
      throw retryable(err);
    }
    if ("forwarded" in out) {
      const now = this.ctx.clock.now();
      const detail = out.detail;
      jc.onComplete((db) => sql.recordStatus(db, direction, true, detail, now));
    }
    return out;
  }

  /** Records a failed attempt (status for /health, a day-file line); runs in the queue's failure transaction. */
  onFail(db: Db, job: Job<SyncPayload>, error: Error, final: boolean): void {
    const direction: sql.Direction = job.payload.source === "zendesk" ? "zendesk_to_chatwoot" : "chatwoot_to_zendesk";
    const label = direction === "zendesk_to_chatwoot" ? ZD_TO_CW : CW_TO_ZD;
    sql.recordStatus(db, direction, false, error.message, this.ctx.clock.now());
    const next = final ? "gave up (job is dead; replay it after fixing the cause)" : error instanceof RetryLater ? `retry in ${Math.ceil(error.delayMs / 1000)} s` : "will retry";
    const line = `❌ ${label}: ${this.describe(job.payload)} failed, attempt ${job.attempt}/${job.maxAttempts}, ${next}: ${error.message}`;
    // File I/O after the commit, not inside the group transaction other requests are waiting on.
    this.ctx.store.afterCommit(() => this.day.write(final ? "ERROR" : "WARN", line));
  }

  private describe(p: SyncPayload): string {
    const b = (p.body ?? {}) as Record<string, any>;
    if (p.source === "chatwoot") return `conversation ${b.conversation?.id ?? "?"} message ${b.id ?? "?"}`;
    const ticket = b.detail?.id ?? b.ticket_id ?? /zen:ticket:(\d+)/.exec(String(b.subject ?? ""))?.[1] ?? "?";
    const comment = b.event?.comment?.id ?? b.comment_id;
    return `ticket ${ticket}${comment ? ` comment ${comment}` : ""}`;
  }

  private skip(label: string, what: string, reason: string, quiet = false): Outcome {
    this.log.debug({ reason, what }, `${label}: skipped`);
    if (!quiet) this.day.write("INFO", `⏭ ${label}: ${what} not forwarded: ${reason}`);
    return { skipped: reason };
  }

  private async me(signal: AbortSignal): Promise<string> {
    this.meId ??= this.zendesk.me(signal).then((u) => String(u.id));
    try {
      return await this.meId;
    } catch (err) {
      this.meId = null;
      throw err;
    }
  }

  private since(): number {
    return this.ctx.clock.now() - this.cfg().dedupe_window;
  }

  private async zendeskToChatwoot(body: unknown, signal: AbortSignal): Promise<Outcome> {
    const parsed = parseZendesk(body);
    if ("skip" in parsed) return this.skip(ZD_TO_CW, "event", parsed.skip, true);
    const c = parsed.comment;
    const what = `ticket ${c.ticketId}${c.commentId ? ` comment ${c.commentId}` : ""}`;
    const db = this.ctx.store.db;
    const since = this.since();
    if (c.isPublic === false) return this.skip(ZD_TO_CW, what, "private comment");
    if (!c.text.trim()) return this.skip(ZD_TO_CW, what, "empty comment");
    if (c.commentId && sql.isOwnWrite(db, `zd-comment:${c.commentId}`, since)) return this.skip(ZD_TO_CW, what, "echo of a comment the bridge wrote");
    const doneKey = c.commentId ? `zd-comment:${c.commentId}` : textKey(c.ticketId, c.text);
    if (sql.processed(db, doneKey, since) !== undefined) return this.skip(ZD_TO_CW, what, "already forwarded (duplicate)");
    const me = await this.me(signal);
    if (c.authorId === me || c.updaterId === me) return this.skip(ZD_TO_CW, what, "echo: written by the bridge's own Zendesk user");
    if (!c.commentId && sql.isOwnWrite(db, textKey(c.ticketId, c.text), since)) return this.skip(ZD_TO_CW, what, "echo: same text as a comment the bridge wrote");
    if (c.authorIsStaff === true) return this.skip(ZD_TO_CW, what, "written by staff");

    const cfg = this.cfg();
    const requesterId = c.requesterId ?? String((await this.zendesk.ticket(c.ticketId, signal)).requester_id);
    let fromMap = true;
    let conversationId = sql.conversationFor(db, c.ticketId);
    if (conversationId === null) {
      fromMap = false;
      const contactId = sql.contactFor(db, requesterId) ?? (await this.ensureContact(requesterId, c, signal));
      conversationId = await this.ensureConversation(c.ticketId, contactId, signal);
    }
    const sourceId = MESSAGE_MARKER + (c.commentId ?? doneKey.slice("zd-text:".length));
    let message: { id: number };
    try {
      message = await this.chatwoot.createMessage(
        conversationId,
        { content: c.text, message_type: "incoming", private: false, source_id: sourceId, content_attributes: {} },
        signal,
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && fromMap) {
        // The conversation was deleted in Chatwoot: forget it so the retry creates a new one.
        await this.ctx.store.write((w) => sql.forgetTicket(w, c.ticketId));
        throw new Error(`${err.message}; conversation ${conversationId} is gone, a new one is created on retry`);
      }
      throw err;
    }
    const now = this.ctx.clock.now();
    await this.ctx.store.write((w) => {
      sql.markOwnWrite(w, `cw-message:${message.id}`, now);
      sql.markProcessed(w, doneKey, `cw-message:${message.id}`, now);
    });
    const detail = `${c.ticketId} → ${conversationId}`;
    this.day.write("INFO", `✅ ${ZD_TO_CW}: ${detail} (comment ${c.commentId ?? "?"} → message ${message.id})`);
    this.log.info({ ticket: c.ticketId, conversation: conversationId, message: message.id, inbox: cfg.chatwoot.inbox_id }, `${ZD_TO_CW}: ${detail}`);
    return { forwarded: true, detail };
  }

  /** One Chatwoot contact per Zendesk requester (identifier zendesk:<requester_id>), recorded before going on. */
  private async ensureContact(requesterId: string, c: ZendeskComment, signal: AbortSignal): Promise<number> {
    const identifier = `zendesk:${requesterId}`;
    let contact = await this.chatwoot.findContact(identifier, signal);
    if (!contact) {
      let name = c.requesterName;
      let email = c.requesterEmail || undefined;
      if (!name) {
        try {
          const u = await this.zendesk.user(requesterId, signal);
          name = u.name;
          email = u.email ?? undefined;
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        }
      }
      const body: Record<string, unknown> = {
        inbox_id: this.cfg().chatwoot.inbox_id,
        name: name || `Zendesk user ${requesterId}`,
        identifier,
        custom_attributes: { zendesk_user_id: requesterId },
        ...(email ? { email } : {}),
      };
      try {
        contact = await this.chatwoot.createContact(body, signal);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 422)) throw err;
        // Taken identifier (created meanwhile) or e-mail (another contact has it): find it, else create without e-mail.
        contact = (await this.chatwoot.findContact(identifier, signal)) ?? (await this.chatwoot.createContact({ ...body, email: undefined }, signal));
      }
    }
    const id = contact.id;
    await this.ctx.store.write((w) => sql.saveContact(w, requesterId, id, this.ctx.clock.now()));
    return id;
  }

  /** One conversation per ticket (source_id zendesk:<ticket>, custom_attributes.zendesk_ticket_id), recorded before going on. */
  private async ensureConversation(ticketId: string, contactId: number, signal: AbortSignal): Promise<number> {
    const cfg = this.cfg().chatwoot;
    const sourceId = `zendesk:${ticketId}`;
    let conv = await this.chatwoot.findConversation(cfg.inbox_id, sourceId, ticketId, signal);
    conv ??= await this.chatwoot.createConversation(
      {
        source_id: sourceId,
        inbox_id: cfg.inbox_id,
        contact_id: contactId,
        additional_attributes: { zendesk_ticket_id: ticketId },
        custom_attributes: { zendesk_ticket_id: ticketId },
        status: "open",
      },
      signal,
    );
    if (typeof conv.id !== "number") throw new ApiError("Chatwoot", 200, "Chatwoot POST /conversations: answer has no id");
    const id = conv.id;
    await this.ctx.store.write((w) => sql.saveTicket(w, ticketId, id, contactId, this.ctx.clock.now()));
    return id;
  }

  private async chatwootToZendesk(body: unknown, signal: AbortSignal): Promise<Outcome> {
    const m: ChatwootWebhook = chatwootWebhook.parse(body);
    if (m.event !== "message_created") return this.skip(CW_TO_ZD, "event", `${m.event} is not a new message`, true);
    const conversationId = m.conversation?.id !== undefined ? String(m.conversation.id) : null;
    const what = `conversation ${conversationId ?? "?"} message ${m.id ?? "?"}`;
    const db = this.ctx.store.db;
    const since = this.since();
    if (m.source_id?.startsWith(MESSAGE_MARKER)) return this.skip(CW_TO_ZD, what, "echo of a message the bridge posted");
    if (m.message_type !== "outgoing") return this.skip(CW_TO_ZD, what, `${m.message_type ?? "untyped"} message (only agents' outgoing replies are forwarded)`);
    if (m.private !== false) return this.skip(CW_TO_ZD, what, "private note");
    // The message's own sender, never the conversation's last message.
    if (m.sender?.type !== "user") return this.skip(CW_TO_ZD, what, `sender is ${m.sender?.type ?? "not an agent"}`);
    if (m.id === undefined || conversationId === null) return this.skip(CW_TO_ZD, what, "no message or conversation id");
    const key = `cw-message:${m.id}`;
    if (sql.isOwnWrite(db, key, since)) return this.skip(CW_TO_ZD, what, "a message the bridge posted");
    if (sql.processed(db, key, since) !== undefined) return this.skip(CW_TO_ZD, what, "already forwarded (duplicate)");
    const text = (m.content ?? "").trim();
    if (!text) return this.skip(CW_TO_ZD, what, "empty message");

    let ticketId = sql.ticketFor(db, conversationId);
    if (ticketId === null) {
      // Not in the map (first reply after a data loss, or a conversation made elsewhere): ask Chatwoot.
      let conv = null;
      try {
        conv = await this.chatwoot.getConversation(conversationId, signal);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
      ticketId = ticketOf(conv) ?? ticketOf(m.conversation) ?? /^zendesk:(\d+)$/.exec(m.conversation?.contact_inbox?.source_id ?? "")?.[1] ?? null;
      if (ticketId === null) return this.skip(CW_TO_ZD, what, "conversation is not linked to a Zendesk ticket");
      const t = ticketId;
      await this.ctx.store.write((w) => sql.saveTicket(w, t, Number(conversationId), null, this.ctx.clock.now()));
    }
    const body2 = m.content ?? "";
    // Known before the call: a trigger echo that carries only the text is recognised even if it races the answer.
    await this.ctx.store.write((w) => sql.markOwnWrite(w, textKey(ticketId!, body2), this.ctx.clock.now()));
    const { commentId } = await this.zendesk.addComment(ticketId, body2, LOOP_TAGS, signal);
    const now = this.ctx.clock.now();
    await this.ctx.store.write((w) => {
      if (commentId) sql.markOwnWrite(w, `zd-comment:${commentId}`, now);
      sql.markProcessed(w, key, commentId ? `zd-comment:${commentId}` : null, now);
    });
    const detail = `${conversationId} → ${ticketId}`;
    this.day.write("INFO", `✅ ${CW_TO_ZD}: ${detail} (message ${m.id} → comment ${commentId ?? "?"})`);
    this.log.info({ conversation: conversationId, ticket: ticketId, message: m.id, comment: commentId }, `${CW_TO_ZD}: ${detail}`);
    return { forwarded: true, detail };
  }

  // ---- maintenance and health ----

  /** Forgets processed ids older than the dedupe window and deletes day files past the retention. */
  async cleanup(): Promise<{ pruned: number; removed: string[] }> {
    const before = this.since();
    const pruned = await this.ctx.store.write((db) => sql.prune(db, before));
    const removed = this.day.cleanup(this.cfg().log_retention_days);
    if (removed.length) this.log.info({ removed }, "bridge day files removed after retention");
    return { pruned, removed };
  }

  health(): { ok: boolean } & Record<string, unknown> {
    const cfg = this.cfg();
    if (!cfg.enabled) return { ok: true, enabled: false };
    const db = this.ctx.store.db;
    const jobs = sql.jobCounts(db);
    const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : null);
    const directions: Record<string, unknown> = {};
    let failing = false;
    const statuses = sql.allStatus(db);
    for (const d of ["zendesk_to_chatwoot", "chatwoot_to_zendesk"] as const) {
      const r = statuses.find((x) => x.direction === d);
      const lastFailed = !!r?.last_failure_at && r.last_failure_at > (r.last_success_at ?? 0);
      failing ||= lastFailed;
      directions[d] = {
        ok: !lastFailed,
        last_success_at: iso(r?.last_success_at ?? null),
        last_success: r?.last_success ?? null,
        last_failure_at: iso(r?.last_failure_at ?? null),
        last_failure: r?.last_failure ?? null,
      };
    }
    return {
      ok: !failing && jobs.dead === 0,
      enabled: true,
      chatwoot: { base_url: cfg.chatwoot.base_url, inbox_id: cfg.chatwoot.inbox_id, signature: cfg.chatwoot.webhook_secret ? "hmac" : "none", path_token: !!cfg.chatwoot.path_token },
      zendesk: { base_url: cfg.zendesk.base_url || `https://${cfg.zendesk.subdomain}.zendesk.com`, signature: cfg.zendesk.signing_secret ? "hmac" : "none" },
      ...directions,
      jobs,
      log_dir: cfg.log_dir,
    };
  }
}
