// A fake Zendesk Support API on loopback: the endpoints the bridge uses with the real answer
// shapes (fixtures/bridge/payloads.json), its errors (401/404/422, 429 with Retry-After, text/plain),
// and its webhooks: a customer comment fires ticket.comment_added, and so does every comment the
// bridge adds (the echo), signed when a signing secret is set.
import { createHmac } from "node:crypto";
import { FakeBase, json } from "../bridge/fake-http";

export interface ZendeskComment {
  id: number;
  author_id: number;
  body: string;
  public: boolean;
  via: string;
}

export interface ZendeskTicket {
  id: number;
  requester_id: number;
  subject: string;
  tags: string[];
  comments: ZendeskComment[];
}

export interface FakeZendeskOptions {
  email?: string;
  apiToken?: string;
  signingSecret?: string;
  /** How the echo of the bridge's own comment is sent: event subscription (default), trigger body, or not at all. */
  echo?: "event" | "trigger" | "none";
  /** Echo the bridge's comment as written by the API user (true, like Zendesk) or hide the author (tests of the id/text rules). */
  echoRevealsAuthor?: boolean;
  /** Timestamp used to sign webhooks (default: now). */
  now?: () => number;
}

export class FakeZendesk extends FakeBase {
  readonly server: ReturnType<typeof Bun.serve>;
  readonly email: string;
  readonly apiToken: string;
  me = { id: 9000001, name: "Chatwoot Bridge", email: "bridge@acme.test", role: "admin" };
  users = new Map<number, { id: number; name: string; email: string; role: string }>();
  tickets = new Map<number, ZendeskTicket>();
  private nextComment = 9876543300;
  private nextAudit = 20001;

  constructor(readonly options: FakeZendeskOptions = {}) {
    super();
    this.email = options.email ?? "ops@acme.test";
    this.apiToken = options.apiToken ?? "zd-secret-api-token-123";
    this.users.set(this.me.id, this.me);
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req) });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  close(): void {
    this.server.stop(true);
  }

  addCustomer(id: number, name: string, email: string): void {
    this.users.set(id, { id, name, email, role: "end-user" });
  }

  addTicket(id: number, requesterId: number, subject = "Cannot log in"): ZendeskTicket {
    const t = { id, requester_id: requesterId, subject, tags: [], comments: [] };
    this.tickets.set(id, t);
    return t;
  }

  /** A comment written in Zendesk (by the customer unless author says otherwise); fires comment_added. */
  comment(ticketId: number, body: string, opts: { authorId?: number; isPublic?: boolean; staff?: boolean } = {}): ZendeskComment {
    const t = this.tickets.get(ticketId)!;
    const c = { id: this.nextComment++, author_id: opts.authorId ?? t.requester_id, body, public: opts.isPublic ?? true, via: "email" };
    t.comments.push(c);
    this.fireCommentAdded(t, c, opts.staff ?? false, true);
    return c;
  }

  /** The event-subscription body Zendesk sends for a new comment. */
  eventBody(t: ZendeskTicket, c: ZendeskComment, staff: boolean, revealAuthor = true): Record<string, unknown> {
    const author = this.users.get(c.author_id);
    return {
      account_id: 22129848,
      detail: { id: String(t.id), requester_id: String(t.requester_id), status: "OPEN", subject: t.subject, tags: [...t.tags], via: { channel: c.via } },
      event: {
        comment: {
          id: String(c.id),
          body: c.body,
          is_public: c.public,
          author: revealAuthor ? { id: String(c.author_id), is_staff: staff, name: author?.name ?? "?" } : { id: "0", is_staff: false, name: "hidden" },
        },
      },
      id: crypto.randomUUID(),
      subject: `zen:ticket:${t.id}`,
      time: new Date().toISOString(),
      type: "zen:event-type:ticket.comment_added",
      zendesk_event_version: "2022-11-06",
    };
  }

  /** A trigger body as an admin would template it (ids and text only). */
  triggerBody(t: ZendeskTicket, c: ZendeskComment, currentUserId: number | null): Record<string, unknown> {
    const requester = this.users.get(t.requester_id);
    const latestPublic = [...t.comments].reverse().find((x) => x.public);
    return {
      ticket_id: String(t.id),
      requester_id: String(t.requester_id),
      requester_name: requester?.name ?? "",
      requester_email: requester?.email ?? "",
      current_user_id: currentUserId === null ? "" : String(currentUserId),
      latest_comment: c.body,
      latest_public_comment: latestPublic?.body ?? "",
      status: "Open",
      tags: t.tags.join(" "),
    };
  }

  private fireCommentAdded(t: ZendeskTicket, c: ZendeskComment, staff: boolean, fromHuman: boolean): void {
    const mode = fromHuman ? "event" : (this.options.echo ?? "event");
    if (mode === "none") return;
    const reveal = fromHuman || (this.options.echoRevealsAuthor ?? true);
    const body = mode === "event" ? this.eventBody(t, c, staff, reveal) : this.triggerBody(t, c, reveal ? c.author_id : null);
    this.sendWebhook(body);
  }

  /** Sends any body to ferry the way Zendesk does (signed when a secret is set). */
  sendWebhook(body: unknown): void {
    this.deliver(body, (raw) => {
      const h: Record<string, string> = { "x-zendesk-webhook-id": "01F1ABCDEF", "x-zendesk-webhook-invocation-id": String(Math.floor(Math.random() * 1e10)), "x-zendesk-account-id": "22129848" };
      if (this.options.signingSecret) {
        const ts = new Date(this.options.now?.() ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
        h["x-zendesk-webhook-signature-timestamp"] = ts;
        h["x-zendesk-webhook-signature"] = createHmac("sha256", this.options.signingSecret).update(ts + raw).digest("base64");
      }
      return h;
    });
  }

  private authorized(req: Request): boolean {
    const expected = "Basic " + Buffer.from(`${this.email}/token:${this.apiToken}`).toString("base64");
    return req.headers.get("authorization") === expected;
  }

  private async handle(req: Request): Promise<Response> {
    const r = await this.record(req);
    const injected = this.injected(r.method, r.path);
    if (injected) return injected;
    if (!this.authorized(req)) return json({ error: "Couldn't authenticate you" }, 401);
    let m: RegExpExecArray | null;
    if (r.method === "GET" && r.path === "/api/v2/users/me.json") return json({ user: this.me });
    if (r.method === "GET" && (m = /^\/api\/v2\/users\/(\d+)\.json$/.exec(r.path))) {
      const u = this.users.get(Number(m[1]));
      return u ? json({ user: { ...u, active: true, external_id: null, phone: null } }) : json({ error: "RecordNotFound", description: "Not found" }, 404);
    }
    if ((m = /^\/api\/v2\/tickets\/(\d+)\.json$/.exec(r.path))) {
      const t = this.tickets.get(Number(m[1]));
      if (!t) return json({ error: "RecordNotFound", description: "Not found" }, 404);
      if (r.method === "GET") return json({ ticket: this.ticketShape(t) });
      if (r.method === "PUT") return this.update(t, r.body);
    }
    if (r.method === "GET" && (m = /^\/api\/v2\/tickets\/(\d+)\/comments\.json$/.exec(r.path))) {
      const t = this.tickets.get(Number(m[1]));
      if (!t) return json({ error: "RecordNotFound", description: "Not found" }, 404);
      return json({ comments: t.comments.map((c) => ({ ...c, type: "Comment", plain_body: c.body })), next_page: null, previous_page: null, count: t.comments.length });
    }
    return json({ error: "InvalidEndpoint", description: "Not found" }, 404);
  }

  private ticketShape(t: ZendeskTicket) {
    return { id: t.id, subject: t.subject, status: "open", requester_id: t.requester_id, tags: [...t.tags].sort(), via: { channel: "email" } };
  }

  private update(t: ZendeskTicket, body: any): Response {
    const comment = body?.ticket?.comment;
    if (!comment || typeof comment.body !== "string" || comment.body === "") {
      return json({ error: "RecordInvalid", description: "Record validation errors", details: { base: [{ description: "Comment: body cannot be blank" }] } }, 422);
    }
    // additional_tags appends; tags would replace.
    for (const tag of body.ticket.additional_tags ?? []) if (!t.tags.includes(tag)) t.tags.push(tag);
    const c: ZendeskComment = { id: this.nextComment++, author_id: comment.author_id ?? this.me.id, body: comment.body, public: comment.public !== false, via: "api" };
    t.comments.push(c);
    const auditId = this.nextAudit++;
    const answer = json({
      ticket: { ...this.ticketShape(t), url: `${this.url}/api/v2/tickets/${t.id}.json`, updated_at: new Date().toISOString() },
      audit: {
        id: auditId,
        ticket_id: t.id,
        author_id: this.me.id,
        created_at: new Date().toISOString(),
        via: { channel: "api", source: { from: {}, to: {}, rel: null } },
        metadata: { system: {}, custom: {} },
        events: [{ id: c.id, type: "Comment", author_id: c.author_id, body: c.body, plain_body: c.body, public: c.public, attachments: [], audit_id: auditId }],
      },
    });
    // The API user is an agent: Zendesk reports it as staff.
    this.fireCommentAdded(t, c, true, false);
    return answer;
  }
}
