import { z } from "zod";
import { HttpError, validate } from "../../http/errors";

// Webhook payloads as Zendesk and Chatwoot send them (fixtures/bridge/payloads.json). Objects are
// loose: both products add fields over time, and we read only what the rules need. Ids arrive as
// strings or numbers; they are kept as strings.
const idText = z.union([z.string().regex(/^\d+$/, "expected a numeric id"), z.number().int().nonnegative()]).transform(String);
const optId = z.union([idText, z.literal(""), z.null()]).optional().transform((v) => (v ? v : undefined));

/** Zendesk event-subscription webhook (type zen:event-type:…). */
export const zendeskEvent = z.looseObject({
  type: z.string().startsWith("zen:event-type:"),
  id: z.string().optional(),
  subject: z.string().optional(),
  detail: z
    .looseObject({
      id: optId,
      requester_id: optId,
      tags: z.array(z.string()).optional(),
    })
    .optional(),
  event: z
    .looseObject({
      comment: z
        .looseObject({
          id: optId,
          body: z.string().optional(),
          is_public: z.boolean().optional(),
          author: z.looseObject({ id: optId, is_staff: z.boolean().optional(), name: z.string().optional() }).optional(),
        })
        .optional(),
    })
    .optional(),
});

/** Zendesk trigger webhook: a body the admin writes with placeholders (all values arrive as text). */
export const zendeskTrigger = z.looseObject({
  ticket_id: idText,
  comment_id: optId,
  latest_comment: z.string().optional(),
  latest_public_comment: z.string().optional(),
  event: z.looseObject({ comment: z.looseObject({ id: optId, body: z.string().optional(), is_public: z.boolean().optional() }).optional() }).optional(),
  current_user_id: optId,
  requester_id: optId,
  requester_name: z.string().optional(),
  requester_email: z.string().optional(),
  tags: z.union([z.string(), z.array(z.string())]).optional(),
});

export type ZendeskEvent = z.output<typeof zendeskEvent>;
export type ZendeskTrigger = z.output<typeof zendeskTrigger>;

/** Chatwoot webhook (message_created and the other events; only message_created is forwarded). */
export const chatwootWebhook = z.looseObject({
  event: z.string().min(1),
  id: z.union([z.number(), z.string()]).optional(),
  content: z.string().nullable().optional(),
  message_type: z.union([z.string(), z.number()]).optional(),
  private: z.boolean().optional(),
  source_id: z.string().nullable().optional(),
  sender: z.looseObject({ id: z.union([z.number(), z.string()]).optional(), type: z.string().optional(), name: z.string().optional() }).nullable().optional(),
  conversation: z
    .looseObject({
      id: z.union([z.number(), z.string()]).optional(),
      custom_attributes: z.record(z.string(), z.unknown()).nullable().optional(),
      additional_attributes: z.record(z.string(), z.unknown()).nullable().optional(),
      contact_inbox: z.looseObject({ source_id: z.string().nullable().optional() }).nullable().optional(),
    })
    .nullable()
    .optional(),
});

export type ChatwootWebhook = z.output<typeof chatwootWebhook>;

/** What a bridge job carries: which side sent it, the webhook body as received, and when. */
export interface SyncPayload {
  source: "zendesk" | "chatwoot";
  body: unknown;
  received_at: number;
}

/** A Zendesk comment in either webhook shape. */
export interface ZendeskComment {
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

/** Reads a Chatwoot webhook body; 422 when it is not a Chatwoot event object. */
export function parseChatwoot(body: unknown): ChatwootWebhook {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(422, "validation_failed", "invalid request body: expected a JSON object from a Chatwoot webhook");
  }
  return validate(chatwootWebhook, body, "Chatwoot webhook");
}

/** The answer of both webhook endpoints once the webhook is stored. */
export const bridgeAnswer = z.strictObject({ status: z.literal("success") });
