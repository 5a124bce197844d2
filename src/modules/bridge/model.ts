import { z } from "zod";

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

/** What a bridge job carries: the webhook body as received, and when. */
export interface BridgeJobPayload {
  body: unknown;
  received_at: number;
}

/** The answer of both webhook endpoints once the webhook is stored. */
export const bridgeAnswer = z.strictObject({ status: z.literal("success") });
