import type { BridgeConfig } from "./config";
import { parseRetryAfter } from "../../http/retry-after";

/** A Zendesk or Chatwoot API call that failed; the message names the call and the answer, never a credential. */
export class ApiError extends Error {
  constructor(
    readonly service: "Zendesk" | "Chatwoot",
    readonly status: number,
    message: string,
    /** From Retry-After on 429 (ms). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const HINT: Record<number, string> = {
  401: "credentials rejected (check the api_token/email in the bridge config)",
  403: "not allowed for this token",
  404: "not found",
  422: "rejected as invalid",
  429: "rate limited",
};

/** Retry-After (seconds or an HTTP date); one minute when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  return parseRetryAfter(header, now) ?? 60_000;
}

async function call<T>(
  service: "Zendesk" | "Chatwoot",
  method: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<T> {
  const what = `${service} ${method} ${new URL(url).pathname}`;
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
      redirect: "error",
    });
  } catch (err) {
    const e = err as Error;
    const reason = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : e.message;
    throw new ApiError(service, 0, `${what}: ${reason}`);
  }
  const text = await res.text().catch(() => "");
  if (!res.ok) {
    let detail = "";
    try {
      const j = JSON.parse(text) as Record<string, unknown>;
      detail = [j.error, j.description, j.message].filter((x) => typeof x === "string").join(": ");
    } catch {
      detail = text.slice(0, 200);
    }
    const hint = HINT[res.status] ?? (res.status >= 500 ? "server error" : "failed");
    throw new ApiError(
      service,
      res.status,
      `${what}: ${res.status} ${hint}${detail ? ` (${detail})` : ""}`,
      res.status === 429 ? retryAfterMs(res.headers.get("retry-after")) : undefined,
    );
  }
  try {
    return (text ? JSON.parse(text) : {}) as T;
  } catch {
    throw new ApiError(service, res.status, `${what}: answer is not JSON`);
  }
}

export interface ZendeskUser {
  id: number | string;
  role?: string;
}

/** The Zendesk Support API subset the bridge uses; auth is basic "{email}/token:{api_token}". */
export class ZendeskClient {
  constructor(private cfg: () => BridgeConfig) {}

  private base(): string {
    const z = this.cfg().zendesk;
    return (z.base_url || `https://${z.subdomain}.zendesk.com`).replace(/\/+$/, "");
  }

  private req<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const z = this.cfg().zendesk;
    const auth = Buffer.from(`${z.email}/token:${z.api_token}`).toString("base64");
    return call<T>("Zendesk", method, this.base() + path, { authorization: `Basic ${auth}` }, body, this.cfg().request_timeout, signal);
  }

  async me(signal?: AbortSignal): Promise<ZendeskUser> {
    return (await this.req<{ user: ZendeskUser }>("GET", "/api/v2/users/me.json", undefined, signal)).user;
  }

  async user(id: string, signal?: AbortSignal): Promise<{ id: number; name?: string; email?: string | null }> {
    return (await this.req<{ user: { id: number; name?: string; email?: string | null } }>("GET", `/api/v2/users/${encodeURIComponent(id)}.json`, undefined, signal)).user;
  }

  async ticket(id: string, signal?: AbortSignal): Promise<{ id: number; requester_id: number; tags?: string[] }> {
    return (await this.req<{ ticket: { id: number; requester_id: number; tags?: string[] } }>("GET", `/api/v2/tickets/${encodeURIComponent(id)}.json`, undefined, signal)).ticket;
  }

  /** Adds a public comment (and tags, appended) with PUT /api/v2/tickets/{id}.json; returns the new comment's id. */
  async addComment(ticketId: string, body: string, tags: string[], signal?: AbortSignal): Promise<{ commentId: string | null }> {
    const out = await this.req<{ audit?: { events?: Array<{ id: number | string; type: string }> } }>(
      "PUT",
      `/api/v2/tickets/${encodeURIComponent(ticketId)}.json`,
      { ticket: { comment: { body, public: true }, additional_tags: tags } },
      signal,
    );
    const comment = out.audit?.events?.find((e) => e.type === "Comment");
    return { commentId: comment ? String(comment.id) : null };
  }
}

export interface ChatwootContact {
  id: number;
  identifier?: string | null;
}

export interface ChatwootConversation {
  id: number;
  inbox_id?: number;
  custom_attributes?: Record<string, unknown> | null;
  additional_attributes?: Record<string, unknown> | null;
}

/** The Chatwoot Application API subset the bridge uses; auth is the api_access_token header. */
export class ChatwootClient {
  constructor(private cfg: () => BridgeConfig) {}

  private req<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const c = this.cfg().chatwoot;
    const url = `${c.base_url.replace(/\/+$/, "")}/api/v1/accounts/${c.account_id}${path}`;
    return call<T>("Chatwoot", method, url, { api_access_token: c.api_token }, body, this.cfg().request_timeout, signal);
  }

  /** Exact identifier match (Chatwoot's search is a substring match). */
  async findContact(identifier: string, signal?: AbortSignal): Promise<ChatwootContact | null> {
    const out = await this.req<{ payload?: ChatwootContact[] }>("GET", `/contacts/search?q=${encodeURIComponent(identifier)}`, undefined, signal);
    return out.payload?.find((c) => c.identifier === identifier) ?? null;
  }

  async createContact(body: Record<string, unknown>, signal?: AbortSignal): Promise<ChatwootContact> {
    const out = await this.req<{ payload?: { contact?: ChatwootContact } }>("POST", "/contacts", body, signal);
    // The id is in payload.contact (the old service read it from the wrong place).
    const contact = out.payload?.contact;
    if (!contact || typeof contact.id !== "number") throw new ApiError("Chatwoot", 200, "Chatwoot POST /contacts: answer has no payload.contact.id");
    return contact;
  }

  async findConversation(inboxId: number, sourceId: string, ticketId: string, signal?: AbortSignal): Promise<ChatwootConversation | null> {
    const out = await this.req<{ data?: { payload?: ChatwootConversation[] } }>(
      "GET",
      `/conversations?inbox_id=${inboxId}&source_id=${encodeURIComponent(sourceId)}&status=all`,
      undefined,
      signal,
    );
    return out.data?.payload?.find((c) => ticketOf(c) === ticketId) ?? null;
  }

  createConversation(body: Record<string, unknown>, signal?: AbortSignal): Promise<ChatwootConversation> {
    return this.req<ChatwootConversation>("POST", "/conversations", body, signal);
  }

  getConversation(id: string, signal?: AbortSignal): Promise<ChatwootConversation> {
    return this.req<ChatwootConversation>("GET", `/conversations/${encodeURIComponent(id)}`, undefined, signal);
  }

  createMessage(conversationId: number, body: Record<string, unknown>, signal?: AbortSignal): Promise<{ id: number }> {
    return this.req<{ id: number }>("POST", `/conversations/${conversationId}/messages`, body, signal);
  }
}

/** The Zendesk ticket a Chatwoot conversation belongs to, from its attributes. */
export function ticketOf(c: Pick<ChatwootConversation, "custom_attributes" | "additional_attributes"> | null | undefined): string | null {
  const v = c?.custom_attributes?.zendesk_ticket_id ?? c?.additional_attributes?.zendesk_ticket_id;
  return (typeof v === "string" || typeof v === "number") && /^\d+$/.test(String(v)) ? String(v) : null;
}
