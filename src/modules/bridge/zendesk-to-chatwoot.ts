import { ApiError } from "./clients";
import { MESSAGE_MARKER, textKey, ZD_TO_CW } from "./markers";
import { parseZendesk, type ZendeskComment } from "./model";
import type { BridgeRuntime, Outcome } from "./runtime";

/** A Zendesk comment webhook → an incoming message in the ticket's Chatwoot conversation (created on first contact). */
export async function zendeskToChatwoot(rt: BridgeRuntime, body: unknown, signal: AbortSignal): Promise<Outcome> {
  const parsed = parseZendesk(body);
  if ("skip" in parsed) return rt.skip(ZD_TO_CW, "event", parsed.skip, true);
  const c = parsed.comment;
  const what = `ticket ${c.ticketId}${c.commentId ? ` comment ${c.commentId}` : ""}`;
  const state = rt.state;
  const since = rt.since();
  if (c.isPublic === false) return rt.skip(ZD_TO_CW, what, "private comment");
  if (!c.text.trim()) return rt.skip(ZD_TO_CW, what, "empty comment");
  if (c.commentId && (await state.isOwnWrite(`zd-comment:${c.commentId}`, since))) return rt.skip(ZD_TO_CW, what, "echo of a comment the bridge wrote");
  const doneKey = c.commentId ? `zd-comment:${c.commentId}` : textKey(c.ticketId, c.text);
  if ((await state.processed(doneKey, since)) !== undefined) return rt.skip(ZD_TO_CW, what, "already forwarded (duplicate)");
  const me = await rt.me(signal);
  if (c.authorId === me || c.updaterId === me) return rt.skip(ZD_TO_CW, what, "echo: written by the bridge's own Zendesk user");
  if (!c.commentId && (await state.isOwnWrite(textKey(c.ticketId, c.text), since))) return rt.skip(ZD_TO_CW, what, "echo: same text as a comment the bridge wrote");
  if (c.authorIsStaff === true) return rt.skip(ZD_TO_CW, what, "written by staff");

  let fromMap = true;
  let conversationId = await state.conversationFor(c.ticketId);
  if (conversationId === null) {
    fromMap = false;
    // Whose conversation this becomes is Zendesk's answer, not the webhook body's requester_id.
    const requesterId = String((await rt.zendesk.ticket(c.ticketId, signal)).requester_id);
    const contactId = (await state.contactFor(requesterId)) ?? (await ensureContact(rt, requesterId, c, signal));
    conversationId = await ensureConversation(rt, c.ticketId, contactId, signal);
  }
  const sourceId = MESSAGE_MARKER + (c.commentId ?? doneKey.slice("zd-text:".length));
  let message: { id: number };
  try {
    message = await rt.chatwoot.createMessage(
      conversationId,
      { content: c.text, message_type: "incoming", private: false, source_id: sourceId, content_attributes: {} },
      signal,
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && fromMap) {
      // The conversation was deleted in Chatwoot: forget it so the retry creates a new one.
      await state.forgetTicket(c.ticketId, conversationId!);
      throw new Error(`${err.message}; conversation ${conversationId} is gone, a new one is created on retry`);
    }
    throw err;
  }
  const now = rt.ctx.clock.now();
  await state.forwarded(`cw-message:${message.id}`, doneKey, `cw-message:${message.id}`, now);
  const detail = `${c.ticketId} → ${conversationId}`;
  rt.day.write("INFO", `✅ ${ZD_TO_CW}: ${detail} (comment ${c.commentId ?? "?"} → message ${message.id})`);
  rt.log.info({ ticket: c.ticketId, conversation: conversationId, message: message.id, inbox: rt.cfg().chatwoot.inbox_id }, `${ZD_TO_CW}: ${detail}`);
  return { forwarded: true, detail };
}

/** One Chatwoot contact per Zendesk requester (identifier zendesk:<requester_id>), recorded before going on. */
async function ensureContact(rt: BridgeRuntime, requesterId: string, c: ZendeskComment, signal: AbortSignal): Promise<number> {
  const identifier = `zendesk:${requesterId}`;
  let contact = await rt.chatwoot.findContact(identifier, signal);
  if (!contact) {
    // The body's requester name/e-mail only label a new contact; they apply only when the body's requester is Zendesk's.
    const own = c.requesterId === requesterId;
    let name = own ? c.requesterName : undefined;
    let email = (own && c.requesterEmail) || undefined;
    if (!name) {
      try {
        const u = await rt.zendesk.user(requesterId, signal);
        name = u.name;
        email = u.email ?? undefined;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    }
    const body: Record<string, unknown> = {
      inbox_id: rt.cfg().chatwoot.inbox_id,
      name: name || `Zendesk user ${requesterId}`,
      identifier,
      custom_attributes: { zendesk_user_id: requesterId },
      ...(email ? { email } : {}),
    };
    try {
      contact = await rt.chatwoot.createContact(body, signal);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 422)) throw err;
      // Taken identifier (created meanwhile) or e-mail (another contact has it): find it, else create without e-mail.
      contact = (await rt.chatwoot.findContact(identifier, signal)) ?? (await rt.chatwoot.createContact({ ...body, email: undefined }, signal));
    }
  }
  const id = contact.id;
  await rt.state.saveContact(requesterId, id, rt.ctx.clock.now());
  return id;
}

/** One conversation per ticket (source_id zendesk:<ticket>, custom_attributes.zendesk_ticket_id), found or created via the API, recorded before going on. */
async function ensureConversation(rt: BridgeRuntime, ticketId: string, contactId: number, signal: AbortSignal): Promise<number> {
  const cfg = rt.cfg().chatwoot;
  const sourceId = `zendesk:${ticketId}`;
  let conv = await rt.chatwoot.findConversation(cfg.inbox_id, sourceId, ticketId, signal);
  // A conversation already linked to another ticket is not shared (its attributes may have been edited).
  const owner = conv ? await rt.state.ticketFor(String(conv.id)) : null;
  if (owner !== null && owner !== ticketId) conv = null;
  conv ??= await rt.chatwoot.createConversation(
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
  // An existing link is never replaced: if one appeared meanwhile, it wins.
  return await rt.state.linkTicket(ticketId, id, contactId, rt.ctx.clock.now());
}
