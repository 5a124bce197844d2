import { createHash } from "node:crypto";

/** One job kind for both directions, one at a time: an echo webhook is handled only after the write it echoes is recorded. */
export const JOB_KIND = "bridge.sync";
/** Tags added to a ticket the bridge comments on: they mark the ticket (for people and triggers), never a later comment. */
export const LOOP_TAGS = ["from_chatwoot", "api_integration", "no_webhook"];
/** source_id prefix of the Chatwoot messages the bridge posts. */
export const MESSAGE_MARKER = "zendesk-comment:";

export const ZD_TO_CW = "Zendesk → Chatwoot";
export const CW_TO_ZD = "Chatwoot → Zendesk";

/** Dedupe key of a comment known only by its text (trigger bodies without a comment id). */
export const textKey = (ticketId: string, text: string) =>
  `zd-text:${ticketId}:${createHash("sha256").update(text.trim().replace(/\s+/g, " ")).digest("hex").slice(0, 32)}`;
