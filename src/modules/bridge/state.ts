// The bridge's state (links, processed ids, own writes, status) and its job intake as units of
// work, one interface and one implementation per database: SQLite here (sql.ts inside
// store.write, synchronous), PostgreSQL in state-pg.ts. Chosen once, in the module.
import type { Queue } from "../../queue";
import type { Store } from "../../store/db";
import type { TxResult } from "../../store/driver/types";
import type { Db } from "../../store/sqlite";
import type { WriteTx } from "../../store/storage";
import { JOB_KIND } from "./markers";
import type { SyncPayload } from "./model";
import * as sql from "./sql";

export interface BridgeState {
  contactFor(requesterId: string): TxResult<number | null>;
  conversationFor(ticketId: string): TxResult<number | null>;
  ticketFor(conversationId: string): TxResult<string | null>;
  /** The result recorded for a processed id within the window, or undefined when not processed. */
  processed(key: string, since: number): TxResult<string | null | undefined>;
  isOwnWrite(key: string, since: number): TxResult<boolean>;
  allStatus(): TxResult<sql.StatusRow[]>;
  /** bridge.sync jobs by status (queued, running, retry, dead). */
  jobCounts(): TxResult<Record<string, number>>;

  saveContact(requesterId: string, contactId: number, now: number): Promise<void>;
  /** Links a ticket unless it is linked already; returns the conversation it is linked to (a link is never replaced). */
  linkTicket(ticketId: string, conversationId: number, contactId: number | null, now: number): Promise<number>;
  forgetTicket(ticketId: string, conversationId: number): Promise<void>;
  markOwnWrite(key: string, now: number): Promise<void>;
  /** After the side effect, in one write: what the bridge wrote (its echo is dropped) and that `processedKey` is done. */
  forwarded(ownKey: string | null, processedKey: string, result: string | null, now: number): Promise<void>;
  /** Forgets processed ids and own writes older than `before`. */
  prune(before: number): Promise<number>;
  /** Stores a webhook with its sync job (once per dedupe key). */
  enqueue(payload: SyncPayload, dedupeKey: string | undefined, maxAttempts: number): Promise<unknown>;
  /** Inside the queue's completion or failure transaction. */
  recordStatusIn(tx: WriteTx, direction: sql.Direction, ok: boolean, text: string, now: number): TxResult<void>;
  /** File I/O for a failure recorded in the queue's failure transaction `tx`: after it commits, once per `key`. */
  afterFailure(tx: WriteTx, key: string, run: () => void): void;
}

export class SqliteBridgeState implements BridgeState {
  constructor(
    private store: Store,
    private queue: Queue<Db>,
  ) {}

  contactFor(requesterId: string) {
    return sql.contactFor(this.store.db, requesterId);
  }
  conversationFor(ticketId: string) {
    return sql.conversationFor(this.store.db, ticketId);
  }
  ticketFor(conversationId: string) {
    return sql.ticketFor(this.store.db, conversationId);
  }
  processed(key: string, since: number) {
    return sql.processed(this.store.db, key, since);
  }
  isOwnWrite(key: string, since: number) {
    return sql.isOwnWrite(this.store.db, key, since);
  }
  allStatus() {
    return sql.allStatus(this.store.db);
  }
  jobCounts() {
    return sql.jobCounts(this.store.db);
  }

  saveContact(requesterId: string, contactId: number, now: number) {
    return this.store.write((db) => sql.saveContact(db, requesterId, contactId, now));
  }
  linkTicket(ticketId: string, conversationId: number, contactId: number | null, now: number) {
    return this.store.write((db) => sql.linkTicket(db, ticketId, conversationId, contactId, now));
  }
  forgetTicket(ticketId: string, conversationId: number) {
    return this.store.write((db) => sql.forgetTicket(db, ticketId, conversationId));
  }
  markOwnWrite(key: string, now: number) {
    return this.store.write((db) => sql.markOwnWrite(db, key, now));
  }
  forwarded(ownKey: string | null, processedKey: string, result: string | null, now: number) {
    return this.store.write((db) => {
      if (ownKey) sql.markOwnWrite(db, ownKey, now);
      sql.markProcessed(db, processedKey, result, now);
    });
  }
  prune(before: number) {
    return this.store.write((db) => sql.prune(db, before));
  }
  enqueue(payload: SyncPayload, dedupeKey: string | undefined, maxAttempts: number) {
    return this.store.write((db) => this.queue.enqueue(db, { kind: JOB_KIND, payload, dedupeKey, maxAttempts }));
  }
  recordStatusIn(tx: WriteTx, direction: sql.Direction, ok: boolean, text: string, now: number) {
    sql.recordStatus(tx as Db, direction, ok, text, now);
  }
  afterFailure(_tx: WriteTx, _key: string, run: () => void) {
    // Not inside the group transaction other requests are waiting on.
    this.store.afterCommit(run);
  }
}
