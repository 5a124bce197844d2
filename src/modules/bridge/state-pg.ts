// The bridge's state on PostgreSQL (see state.ts): the statements of sql.ts, reads on the pool,
// writes in the driver's group commit (no JS side effects inside them).
import type { Queue } from "../../queue";
import type { PostgresDriver } from "../../store/driver/postgres";
import type { PgExec, PgTx } from "../../store/postgres/client";
import type { WriteTx } from "../../store/storage";
import { JOB_KIND } from "./markers";
import type { SyncPayload } from "./model";
import type { Direction, StatusRow } from "./sql";
import type { BridgeState } from "./state";

async function conversationFor(sql: PgExec, ticketId: string): Promise<number | null> {
  const [r] = await sql<{ conversation_id: number }[]>`SELECT conversation_id FROM bridge_tickets WHERE ticket_id = ${ticketId}`;
  return r?.conversation_id ?? null;
}

async function markOwnWrite(tx: PgTx, key: string, now: number): Promise<void> {
  await tx`INSERT INTO bridge_own_writes (key, at) VALUES (${key}, ${now}) ON CONFLICT (key) DO UPDATE SET at = excluded.at`;
}

export class PgBridgeState implements BridgeState {
  /** Failures already logged (see afterFailure); the last few are enough to recognise a re-run batch. */
  private logged: string[] = [];
  constructor(
    private driver: PostgresDriver,
    private queue: Queue<PgTx>,
  ) {}

  private get sql() {
    return this.driver.sql;
  }

  async contactFor(requesterId: string) {
    const [r] = await this.sql<{ contact_id: number }[]>`SELECT contact_id FROM bridge_contacts WHERE requester_id = ${requesterId}`;
    return r?.contact_id ?? null;
  }
  conversationFor(ticketId: string) {
    return conversationFor(this.sql, ticketId);
  }
  async ticketFor(conversationId: string) {
    // A conversation id that is not a number links no ticket (SQLite's CAST gives 0, which matches none either).
    if (!/^\d{1,18}$/.test(conversationId)) return null;
    const [r] = await this.sql<{ ticket_id: string }[]>`SELECT ticket_id FROM bridge_tickets WHERE conversation_id = ${Number(conversationId)} ORDER BY updated_at DESC LIMIT 1`;
    return r?.ticket_id ?? null;
  }
  async processed(key: string, since: number) {
    const [r] = await this.sql<{ result: string | null }[]>`SELECT result FROM bridge_processed WHERE key = ${key} AND at >= ${since}`;
    return r ? r.result : undefined;
  }
  async isOwnWrite(key: string, since: number) {
    return (await this.sql`SELECT 1 FROM bridge_own_writes WHERE key = ${key} AND at >= ${since}`).length > 0;
  }
  async allStatus() {
    return (await this.sql<StatusRow[]>`SELECT * FROM bridge_status`).map((r) => ({ ...r }));
  }
  async jobCounts() {
    return (await this.driver.depth(JOB_KIND))[JOB_KIND] ?? { queued: 0, running: 0, retry: 0, dead: 0 };
  }

  async saveContact(requesterId: string, contactId: number, now: number) {
    await this.driver.write(
      (tx) => tx`INSERT INTO bridge_contacts (requester_id, contact_id, created_at) VALUES (${requesterId}, ${contactId}, ${now})
        ON CONFLICT (requester_id) DO UPDATE SET contact_id = excluded.contact_id`,
    );
  }
  linkTicket(ticketId: string, conversationId: number, contactId: number | null, now: number) {
    return this.driver.write(async (tx) => {
      await tx`INSERT INTO bridge_tickets (ticket_id, conversation_id, contact_id, created_at, updated_at)
        VALUES (${ticketId}, ${conversationId}, ${contactId}, ${now}, ${now}) ON CONFLICT (ticket_id) DO NOTHING`;
      return (await conversationFor(tx, ticketId))!;
    });
  }
  async forgetTicket(ticketId: string, conversationId: number) {
    await this.driver.write((tx) => tx`DELETE FROM bridge_tickets WHERE ticket_id = ${ticketId} AND conversation_id = ${conversationId}`);
  }
  markOwnWrite(key: string, now: number) {
    return this.driver.write((tx) => markOwnWrite(tx, key, now));
  }
  forwarded(ownKey: string | null, processedKey: string, result: string | null, now: number) {
    return this.driver.write(async (tx) => {
      if (ownKey) await markOwnWrite(tx, ownKey, now);
      await tx`INSERT INTO bridge_processed (key, result, at) VALUES (${processedKey}, ${result}, ${now})
        ON CONFLICT (key) DO UPDATE SET result = excluded.result, at = excluded.at`;
    });
  }
  /** Every node prunes (its cleanup also removes its own day files): SKIP LOCKED, so two nodes never wait for or deadlock on each other's rows. */
  prune(before: number) {
    return this.driver.write(async (tx) => {
      const a = await tx`DELETE FROM bridge_processed WHERE key IN (SELECT key FROM bridge_processed WHERE at < ${before} FOR UPDATE SKIP LOCKED)`;
      const b = await tx`DELETE FROM bridge_own_writes WHERE key IN (SELECT key FROM bridge_own_writes WHERE at < ${before} FOR UPDATE SKIP LOCKED)`;
      return a.count + b.count;
    });
  }
  enqueue(payload: SyncPayload, dedupeKey: string | undefined, maxAttempts: number) {
    return this.driver.write((tx) => this.queue.enqueue(tx, { kind: JOB_KIND, payload, dedupeKey, maxAttempts }));
  }
  async recordStatusIn(tx: WriteTx, direction: Direction, ok: boolean, text: string, now: number) {
    const t = tx as PgTx;
    if (ok) {
      await t`INSERT INTO bridge_status (direction, last_success_at, last_success) VALUES (${direction}, ${now}, ${text})
        ON CONFLICT (direction) DO UPDATE SET last_success_at = excluded.last_success_at, last_success = excluded.last_success`;
    } else {
      await t`INSERT INTO bridge_status (direction, last_failure_at, last_failure) VALUES (${direction}, ${now}, ${text})
        ON CONFLICT (direction) DO UPDATE SET last_failure_at = excluded.last_failure_at, last_failure = excluded.last_failure`;
    }
  }

  /**
   * The queue's failure write on PostgreSQL offers no after-commit hook, and its batch may run
   * again after a sibling failed: the line is written at once, and only the first time per key.
   */
  afterFailure(_tx: WriteTx, key: string, run: () => void) {
    if (this.logged.includes(key)) return;
    this.logged.push(key);
    if (this.logged.length > 64) this.logged.shift();
    run();
  }
}
