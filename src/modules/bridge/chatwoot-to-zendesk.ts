import { ApiError, ticketOf, type ChatwootConversation } from "./clients";
import { CW_TO_ZD, LOOP_TAGS, MESSAGE_MARKER, textKey } from "./markers";
import { parseChatwoot } from "./model";
import type { BridgeRuntime, Outcome } from "./runtime";

/** An agent's public reply in Chatwoot → a public comment (with the loop tags) on the linked Zendesk ticket. */
export async function chatwootToZendesk(rt: BridgeRuntime, body: unknown, signal: AbortSignal): Promise<Outcome> {
  const m = parseChatwoot(body);
  if (m.event !== "message_created") return rt.skip(CW_TO_ZD, "event", `${m.event} is not a new message`, true);
  const conversationId = m.conversation?.id !== undefined ? String(m.conversation.id) : null;
  const what = `conversation ${conversationId ?? "?"} message ${m.id ?? "?"}`;
  const state = rt.state;
  const since = rt.since();
  if (m.source_id?.startsWith(MESSAGE_MARKER)) return rt.skip(CW_TO_ZD, what, "echo of a message the bridge posted");
  if (m.message_type !== "outgoing") return rt.skip(CW_TO_ZD, what, `${m.message_type ?? "untyped"} message (only agents' outgoing replies are forwarded)`);
  if (m.private !== false) return rt.skip(CW_TO_ZD, what, "private note");
  // The message's own sender, never the conversation's last message.
  if (m.sender?.type !== "user") return rt.skip(CW_TO_ZD, what, `sender is ${m.sender?.type ?? "not an agent"}`);
  if (m.id === undefined || conversationId === null || !/^\d+$/.test(conversationId)) return rt.skip(CW_TO_ZD, what, "no message or conversation id");
  const key = `cw-message:${m.id}`;
  if (await state.isOwnWrite(key, since)) return rt.skip(CW_TO_ZD, what, "a message the bridge posted");
  if ((await state.processed(key, since)) !== undefined) return rt.skip(CW_TO_ZD, what, "already forwarded (duplicate)");
  const text = (m.content ?? "").trim();
  if (!text) return rt.skip(CW_TO_ZD, what, "empty message");

  let ticketId = await state.ticketFor(conversationId);
  if (ticketId === null) {
    const linked = await linkFromChatwoot(rt, conversationId, signal);
    if ("skip" in linked) return rt.skip(CW_TO_ZD, what, linked.skip);
    ticketId = linked.ticketId;
  }
  const t = ticketId;
  const content = m.content ?? "";
  // Known before the call: a trigger echo that carries only the text is recognised even if it races the answer.
  await state.markOwnWrite(textKey(t, content), rt.ctx.clock.now());
  const { commentId } = await rt.zendesk.addComment(t, content, LOOP_TAGS, signal);
  const now = rt.ctx.clock.now();
  await state.forwarded(commentId ? `zd-comment:${commentId}` : null, key, commentId ? `zd-comment:${commentId}` : null, now);
  const detail = `${conversationId} → ${t}`;
  rt.day.write("INFO", `✅ ${CW_TO_ZD}: ${detail} (message ${m.id} → comment ${commentId ?? "?"})`);
  rt.log.info({ conversation: conversationId, ticket: t, message: m.id, comment: commentId }, `${CW_TO_ZD}: ${detail}`);
  return { forwarded: true, detail };
}

/**
 * A conversation not in the map (first reply after a data loss, or one made elsewhere): only Chatwoot's
 * own record of it may link it to a ticket, never the webhook body, and never over an existing link.
 */
async function linkFromChatwoot(rt: BridgeRuntime, conversationId: string, signal: AbortSignal): Promise<{ ticketId: string } | { skip: string }> {
  let conv: ChatwootConversation | null = null;
  try {
    conv = await rt.chatwoot.getConversation(conversationId, signal);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  if (!conv) return { skip: "conversation not found in Chatwoot" };
  const inbox = rt.cfg().chatwoot.inbox_id;
  if (conv.inbox_id !== undefined && conv.inbox_id !== inbox) return { skip: `conversation is in inbox ${conv.inbox_id}, not the bridge's inbox ${inbox}` };
  const ticketId = ticketOf(conv);
  if (ticketId === null) return { skip: "conversation is not linked to a Zendesk ticket" };
  const existing = await rt.state.conversationFor(ticketId);
  if (existing !== null && String(existing) !== conversationId) {
    return { skip: `conversation names ticket ${ticketId}, which is linked to conversation ${existing} (an existing link is never replaced)` };
  }
  const linked = await rt.state.linkTicket(ticketId, Number(conversationId), null, rt.ctx.clock.now());
  if (String(linked) !== conversationId) return { skip: `ticket ${ticketId} is linked to conversation ${linked}` };
  return { ticketId };
}
