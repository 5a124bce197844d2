// A fake Chatwoot Application API on loopback (one API-channel inbox): contacts, conversations and
// messages with the real answer shapes (fixtures/bridge/payloads.json, from Chatwoot v4.10 source),
// its errors (401, 404, 422), and its webhooks: message_created for every message, including the
// incoming ones the bridge posts (the echo), signed with X-Chatwoot-Signature when a secret is set.
import { createHmac } from "node:crypto";
import { FakeBase, json } from "../bridge/fake-http";

export interface CwContact {
  id: number;
  name: string;
  email: string | null;
  identifier: string | null;
  custom_attributes: Record<string, unknown>;
}

export interface CwConversation {
  id: number;
  inbox_id: number;
  contact_id: number;
  source_id: string;
  status: string;
  custom_attributes: Record<string, unknown>;
  additional_attributes: Record<string, unknown>;
}

export interface CwMessage {
  id: number;
  conversation_id: number;
  content: string;
  message_type: "incoming" | "outgoing";
  private: boolean;
  source_id: string | null;
  sender: Record<string, unknown>;
}

export interface FakeChatwootOptions {
  accountId?: number;
  inboxId?: number;
  apiToken?: string;
  webhookSecret?: string;
  now?: () => number;
}

const NOT_FOUND = { error: "Resource could not be found" };

export class FakeChatwoot extends FakeBase {
  readonly server: ReturnType<typeof Bun.serve>;
  readonly accountId: number;
  readonly inboxId: number;
  readonly apiToken: string;
  contacts: CwContact[] = [];
  conversations: CwConversation[] = [];
  messages: CwMessage[] = [];
  agent = { id: 2, name: "Sam Agent", email: "sam@acme.test", type: "user" };
  private ids = { contact: 77, conversation: 42, message: 9000 };

  constructor(readonly options: FakeChatwootOptions = {}) {
    super();
    this.accountId = options.accountId ?? 1;
    this.inboxId = options.inboxId ?? 3;
    this.apiToken = options.apiToken ?? "cw-secret-access-token-456";
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req) });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  close(): void {
    this.server.stop(true);
  }

  /** An agent (or bot: senderType "agent_bot") writes in a conversation; fires message_created. */
  reply(conversationId: number, content: string, opts: { private?: boolean; senderType?: "user" | "agent_bot" | "captain_assistant" } = {}): CwMessage {
    const sender = opts.senderType && opts.senderType !== "user" ? { id: 5, name: "Bot", type: opts.senderType } : { ...this.agent };
    const m: CwMessage = {
      id: this.ids.message++,
      conversation_id: conversationId,
      content,
      message_type: "outgoing",
      private: opts.private ?? false,
      source_id: null,
      sender,
    };
    this.messages.push(m);
    this.sendWebhook(this.messageCreated(m));
    return m;
  }

  /** The message_created webhook body (Message#webhook_data + event). */
  messageCreated(m: CwMessage): Record<string, unknown> {
    const conv = this.conversations.find((c) => c.id === m.conversation_id)!;
    // conversation.messages[] holds the last non-private chat message, with an INTEGER message_type.
    const lastPublic = [...this.messages].reverse().find((x) => x.conversation_id === conv.id && !x.private);
    return {
      account: { id: this.accountId, name: "Acme" },
      additional_attributes: {},
      content_attributes: {},
      content_type: "text",
      content: m.content,
      conversation: {
        additional_attributes: { ...conv.additional_attributes },
        can_reply: true,
        channel: "Channel::Api",
        contact_inbox: { contact_id: conv.contact_id, inbox_id: conv.inbox_id, source_id: conv.source_id, hmac_verified: false },
        id: conv.id,
        inbox_id: conv.inbox_id,
        messages: lastPublic
          ? [{ id: lastPublic.id, content: lastPublic.content, conversation_id: conv.id, message_type: lastPublic.message_type === "incoming" ? 0 : 1, private: false, sender: lastPublic.sender }]
          : [],
        meta: {},
        status: conv.status,
        custom_attributes: { ...conv.custom_attributes },
      },
      created_at: new Date().toISOString(),
      id: m.id,
      inbox: { id: this.inboxId, name: "Zendesk bridge (API)" },
      message_type: m.message_type,
      private: m.private,
      sender: m.sender,
      source_id: m.source_id,
      event: "message_created",
    };
  }

  /** Sends any body to ferry the way Chatwoot does (signed when a secret is set). */
  sendWebhook(body: unknown): void {
    this.deliver(body, (raw) => {
      const h: Record<string, string> = { "x-chatwoot-delivery": crypto.randomUUID() };
      if (this.options.webhookSecret) {
        const ts = String(Math.floor((this.options.now?.() ?? Date.now()) / 1000));
        h["x-chatwoot-timestamp"] = ts;
        h["x-chatwoot-signature"] = "sha256=" + createHmac("sha256", this.options.webhookSecret).update(`${ts}.${raw}`).digest("hex");
      }
      return h;
    });
  }

  private conversationShape(c: CwConversation) {
    const contact = this.contacts.find((x) => x.id === c.contact_id);
    return {
      meta: { sender: contact ? { ...contact, type: "contact" } : null, channel: "Channel::Api", hmac_verified: false },
      id: c.id,
      messages: [],
      account_id: this.accountId,
      uuid: crypto.randomUUID(),
      additional_attributes: { ...c.additional_attributes },
      custom_attributes: { ...c.custom_attributes },
      inbox_id: c.inbox_id,
      labels: [],
      status: c.status,
      created_at: Math.floor(Date.now() / 1000),
      unread_count: 0,
    };
  }

  private async handle(req: Request): Promise<Response> {
    const r = await this.record(req);
    const injected = this.injected(r.method, r.path);
    if (injected) return injected;
    if (req.headers.get("api_access_token") !== this.apiToken) return json({ error: "Invalid Access Token" }, 401);
    const base = `/api/v1/accounts/${this.accountId}`;
    if (!r.path.startsWith(base + "/")) return json(NOT_FOUND, 404);
    const p = r.path.slice(base.length);
    let m: RegExpExecArray | null;

    if (r.method === "GET" && p === "/contacts/search") {
      const q = r.query.get("q");
      if (!q) return json({ error: "Specify search string with parameter q" }, 422);
      const ql = q.toLowerCase();
      // Substring match, like Chatwoot's ILIKE/LIKE search.
      const hits = this.contacts.filter((c) => [c.name, c.email, c.identifier].some((v) => v?.toLowerCase().includes(ql)));
      return json({ meta: { count: hits.length, current_page: 1 }, payload: hits.map((c) => ({ ...c, thumbnail: "", blocked: false })) });
    }
    if (r.method === "POST" && p === "/contacts") {
      const b = r.body ?? {};
      if (b.identifier && this.contacts.some((c) => c.identifier === b.identifier)) return json({ message: "Identifier has already been taken", attributes: ["identifier"] }, 422);
      if (b.email && this.contacts.some((c) => c.email === b.email)) return json({ message: "Email has already been taken", attributes: ["email"] }, 422);
      const c: CwContact = { id: this.ids.contact++, name: b.name ?? "", email: b.email ?? null, identifier: b.identifier ?? null, custom_attributes: b.custom_attributes ?? {} };
      this.contacts.push(c);
      return json({
        payload: {
          contact: { ...c, additional_attributes: {}, availability_status: "offline", phone_number: null, blocked: false, thumbnail: "", contact_inboxes: [] },
          contact_inbox: { inbox: { id: this.inboxId, channel_type: "Channel::Api" }, source_id: b.source_id ?? crypto.randomUUID() },
        },
      });
    }
    if (r.method === "GET" && p === "/conversations") {
      const status = r.query.get("status") ?? "open";
      const inbox = r.query.get("inbox_id");
      const source = r.query.get("source_id");
      const hits = this.conversations.filter(
        (c) => (status === "all" || c.status === status) && (!inbox || String(c.inbox_id) === inbox) && (!source || c.source_id === source),
      );
      return json({ data: { meta: { mine_count: 0, assigned_count: 0, unassigned_count: hits.length, all_count: hits.length }, payload: hits.map((c) => this.conversationShape(c)) } });
    }
    if (r.method === "POST" && p === "/conversations") {
      const b = r.body ?? {};
      if (!this.contacts.some((c) => c.id === b.contact_id)) return json(NOT_FOUND, 404);
      const c: CwConversation = {
        id: this.ids.conversation++,
        inbox_id: b.inbox_id,
        contact_id: b.contact_id,
        source_id: b.source_id ?? crypto.randomUUID(),
        status: b.status ?? "open",
        custom_attributes: b.custom_attributes ?? {},
        additional_attributes: b.additional_attributes ?? {},
      };
      this.conversations.push(c);
      return json(this.conversationShape(c));
    }
    if ((m = /^\/conversations\/(\d+)$/.exec(p)) && r.method === "GET") {
      const c = this.conversations.find((x) => x.id === Number(m![1]));
      return c ? json(this.conversationShape(c)) : json(NOT_FOUND, 404);
    }
    if ((m = /^\/conversations\/(\d+)\/messages$/.exec(p)) && r.method === "POST") {
      const c = this.conversations.find((x) => x.id === Number(m![1]));
      if (!c) return json(NOT_FOUND, 404);
      const b = r.body ?? {};
      const type = b.message_type ?? "outgoing";
      const contact = this.contacts.find((x) => x.id === c.contact_id)!;
      // Incoming → sender is the contact (webhook_data without "type"); outgoing → the token's user.
      const sender = type === "incoming" ? { id: contact.id, name: contact.name, email: contact.email, identifier: contact.identifier, custom_attributes: {} } : { ...this.agent };
      const msg: CwMessage = { id: this.ids.message++, conversation_id: c.id, content: b.content, message_type: type, private: !!b.private, source_id: b.source_id ?? null, sender };
      this.messages.push(msg);
      this.sendWebhook(this.messageCreated(msg));
      return json({
        id: msg.id,
        content: msg.content,
        inbox_id: c.inbox_id,
        conversation_id: c.id,
        message_type: type === "incoming" ? 0 : 1,
        content_type: "text",
        status: "sent",
        content_attributes: {},
        created_at: Math.floor(Date.now() / 1000),
        private: msg.private,
        source_id: msg.source_id,
        sender: type === "incoming" ? { ...sender, type: "contact" } : sender,
      });
    }
    return json(NOT_FOUND, 404);
  }
}
