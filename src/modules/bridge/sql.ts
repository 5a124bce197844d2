import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import { queueDepth } from "../../queue";

// Every SQL statement of the bridge, prepared once per database.

export function contactFor(db: Db, requesterId: string): number | null {
  const r = prepared<[string], { contact_id: number }>(db, "SELECT contact_id FROM bridge_contacts WHERE requester_id = ?").get(requesterId);
  return r?.contact_id ?? null;
}

export function saveContact(db: Db, requesterId: string, contactId: number, now: number): void {
  prepared(db, "INSERT INTO bridge_contacts (requester_id, contact_id, created_at) VALUES (?, ?, ?) ON CONFLICT (requester_id) DO UPDATE SET contact_id = excluded.contact_id").run(
    requesterId,
    contactId,
    now,
  );
}

export function conversationFor(db: Db, ticketId: string): number | null {
  const r = prepared<[string], { conversation_id: number }>(db, "SELECT conversation_id FROM bridge_tickets WHERE ticket_id = ?").get(ticketId);
  return r?.conversation_id ?? null;
}

export function ticketFor(db: Db, conversationId: string): string | null {
  const r = prepared<[string], { ticket_id: string }>(db, "SELECT ticket_id FROM bridge_tickets WHERE conversation_id = CAST(? AS INTEGER) ORDER BY updated_at DESC LIMIT 1").get(
    conversationId,
  );
  return r?.ticket_id ?? null;
}

/**
 * Links a ticket to a conversation unless it is linked already; returns the conversation it is linked to.
 * Never re-links: a link is made once, from what ferry created or Chatwoot confirmed, and only forgetTicket undoes it.
 */
export function linkTicket(db: Db, ticketId: string, conversationId: number, contactId: number | null, now: number): number {
  prepared(db, "INSERT INTO bridge_tickets (ticket_id, conversation_id, contact_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING").run(
    ticketId,
    conversationId,
    contactId,
    now,
    now,
  );
  return conversationFor(db, ticketId)!;
}

/** Drops a ticket's link to a conversation that no longer exists (only if it still points there). */
export function forgetTicket(db: Db, ticketId: string, conversationId: number): void {
  prepared(db, "DELETE FROM bridge_tickets WHERE ticket_id = ? AND conversation_id = ?").run(ticketId, conversationId);
}

/** The result recorded for a processed id within the window, or undefined when not processed. */
export function processed(db: Db, key: string, since: number): string | null | undefined {
  const r = prepared<[string, number], { result: string | null }>(db, "SELECT result FROM bridge_processed WHERE key = ? AND at >= ?").get(key, since);
  return r ? r.result : undefined;
}

export function markProcessed(db: Db, key: string, result: string | null, now: number): void {
  prepared(db, "INSERT INTO bridge_processed (key, result, at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET result = excluded.result, at = excluded.at").run(key, result, now);
}

export function isOwnWrite(db: Db, key: string, since: number): boolean {
  return prepared<[string, number], { n: number }>(db, "SELECT 1 AS n FROM bridge_own_writes WHERE key = ? AND at >= ?").get(key, since) !== undefined;
}

export function markOwnWrite(db: Db, key: string, now: number): void {
  prepared(db, "INSERT INTO bridge_own_writes (key, at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET at = excluded.at").run(key, now);
}

/** Forgets processed ids and own writes older than the window. */
export function prune(db: Db, before: number): number {
  const a = prepared(db, "DELETE FROM bridge_processed WHERE at < ?").run(before).changes;
  const b = prepared(db, "DELETE FROM bridge_own_writes WHERE at < ?").run(before).changes;
  return a + b;
}

export type Direction = "zendesk_to_chatwoot" | "chatwoot_to_zendesk";

export function recordStatus(db: Db, direction: Direction, ok: boolean, text: string, now: number): void {
  const sql = ok
    ? `INSERT INTO bridge_status (direction, last_success_at, last_success) VALUES (?, ?, ?)
       ON CONFLICT (direction) DO UPDATE SET last_success_at = excluded.last_success_at, last_success = excluded.last_success`
    : `INSERT INTO bridge_status (direction, last_failure_at, last_failure) VALUES (?, ?, ?)
       ON CONFLICT (direction) DO UPDATE SET last_failure_at = excluded.last_failure_at, last_failure = excluded.last_failure`;
  prepared(db, sql).run(direction, now, text);
}

export interface StatusRow {
  direction: Direction;
  last_success_at: number | null;
  last_success: string | null;
  last_failure_at: number | null;
  last_failure: string | null;
}

export function allStatus(db: Db): StatusRow[] {
  return prepared<[], StatusRow>(db, "SELECT * FROM bridge_status").all();
}

/** The bridge's job counts, from the queue's own index-backed counter. */
export function jobCounts(db: Db): Record<string, number> {
  return queueDepth(db, "bridge.sync")["bridge.sync"] ?? { queued: 0, running: 0, retry: 0, dead: 0 };
}
