import type { NewJob } from "../../queue/types";
import { connectPg, type PgOptions, type PgSql, type PgTx } from "../postgres/client";
import { PgGroupCommit, type PgWrite } from "../postgres/group-commit";
import type { Migration } from "../migrations";
import { migratePg, pgSchemaVersion } from "../postgres/migrations";
import * as q from "../postgres/queue-sql";
import { FencedError, type Completion, type Failure, type LeaseRef, type StoreDriver, type TxResult } from "./types";

export interface PostgresDriverOptions extends PgOptions {
  /** The schema's migrations: core only by default; the daemon and CLI pass allPgMigrations (src/modules). */
  migrations?: Migration[];
  /** Batches committing at once (each holds a pool connection while it commits). */
  maxInFlight?: number;
}

// NOTIFY payloads are limited to 8000 bytes; a batch naming more kinds than fit wakes every kind.
const MAX_PAYLOAD = 7000;

/**
 * N ferry nodes on one PostgreSQL: the group commit in group-commit.ts, the queue SQL in
 * queue-sql.ts, and LISTEN/NOTIFY so an enqueue on one node wakes workers on all of them
 * (porsager re-LISTENs after a reconnect; what was sent meanwhile is lost, hence the polling
 * the maintenance tick does anyway).
 */
export class PostgresDriver implements StoreDriver<PgTx> {
  readonly name = "postgres" as const;
  readonly sql: PgSql;
  private group: PgGroupCommit;
  private listeners: Array<(kinds: string[]) => void> = [];
  private listening: Promise<unknown> | null = null;
  readonly channel: string;
  notificationsReceived = 0;

  constructor(readonly options: PostgresDriverOptions) {
    this.sql = connectPg(options);
    this.channel = `ferry_jobs:${options.schema}`;
    this.group = new PgGroupCommit(this.sql, {
      maxInFlight: options.maxInFlight ?? Math.max(1, options.pool - 1),
      onNotify: (tx, kinds) => {
        let payload = JSON.stringify({ n: options.nodeId, k: kinds });
        if (payload.length > MAX_PAYLOAD) payload = JSON.stringify({ n: options.nodeId, k: "*" });
        return tx`SELECT pg_notify(${this.channel}, ${payload})`;
      },
      onCommitted: (kinds) => this.emit(kinds),
    });
  }

  get commits(): number {
    return this.group.commits;
  }

  /** When this node's group commit last committed (unix ms; 0: not yet). */
  get lastCommitAt(): number {
    return this.group.lastCommitAt;
  }

  /** One write in the group commit (feature code on PostgreSQL goes through here). */
  write<T>(fn: PgWrite<T>): Promise<T> {
    return this.group.write(fn);
  }

  migrate(): Promise<number[]> {
    return migratePg(this.sql, this.options.schema, this.options.migrations);
  }

  schemaVersion(): Promise<number> {
    return pgSchemaVersion(this.sql);
  }

  /** Inside a write: the kinds wake this node after the commit (once per batch) and the others via its NOTIFY. */
  private announce(w: Parameters<PgWrite<unknown>>[1], kinds: string[]): void {
    for (const k of kinds) w.notify(k);
  }

  private emit(kinds: string[]): void {
    for (const l of this.listeners) l(kinds);
  }

  enqueue(jobs: NewJob[], defaultMaxAttempts: number, now: number) {
    return this.write((tx) => this.enqueueIn(tx, jobs, defaultMaxAttempts, now));
  }

  async enqueueIn(tx: PgTx, jobs: NewJob[], defaultMaxAttempts: number, now: number) {
    const out = await q.enqueue(tx, jobs, now, defaultMaxAttempts);
    await this.notifyIn(tx, [...new Set(jobs.filter((_, i) => out[i]!.created).map((j) => j.kind))]);
    return out;
  }

  async replayIn(tx: PgTx, id: number, now: number) {
    const kind = await q.replay(tx, id, now);
    if (kind) await this.notifyIn(tx, [kind]);
    return kind;
  }

  /** Kinds made runnable by a write that holds only `tx`: into its batch's NOTIFY, or a NOTIFY of its own. */
  private async notifyIn(tx: PgTx, kinds: string[]): Promise<void> {
    for (const k of kinds) {
      if (this.group.notifyIn(tx, k)) continue;
      await tx`SELECT pg_notify(${this.channel}, ${JSON.stringify({ n: "", k: [k] })})`; // a transaction of the caller's own: every node hears it
    }
  }

  completeWith(item: Completion, now: number, also: ((tx: PgTx) => TxResult<unknown>) | null) {
    return this.write(async (tx) => {
      const [held] = await q.complete(tx, [item], now);
      if (held && also) await also(tx);
      return held!;
    });
  }

  failWith(item: Failure, now: number, also: ((tx: PgTx) => TxResult<unknown>) | null) {
    return this.write(async (tx) => {
      const [held] = await q.fail(tx, [item], now);
      if (held && also) await also(tx);
      return held!;
    });
  }

  claim(kind: string, limit: number, leaseMs: number, now: number) {
    return this.write(async (tx) => {
      const jobs = await q.claim(tx, kind, limit, leaseMs, now);
      return { jobs, nextDueAt: jobs.length < limit ? await q.nextDueAt(tx, kind) : null };
    });
  }

  complete(items: Completion[], now: number) {
    return this.write((tx) => q.complete(tx, items, now));
  }

  fail(items: Failure[], now: number) {
    return this.write((tx) => q.fail(tx, items, now));
  }

  heartbeat(items: LeaseRef[], leaseMs: number, now: number) {
    return this.write((tx) => q.heartbeat(tx, items, leaseMs, now));
  }

  release(items: LeaseRef[], now: number) {
    return this.write((tx) => q.release(tx, items, now));
  }

  recoverExpired(now: number) {
    return this.write(async (tx, w) => {
      const kinds = await q.recoverExpired(tx, now);
      this.announce(w, [...new Set(kinds)]);
      return kinds;
    });
  }

  replay(id: number, now: number) {
    return this.write((tx) => this.replayIn(tx, id, now));
  }

  replayKind(kind: string, now: number) {
    return this.write(async (tx, w) => {
      const ids = await q.replayKind(tx, kind, now);
      if (ids.length) this.announce(w, [kind]);
      return ids;
    });
  }

  deleteFinished(olderThan: number, limit: number) {
    return this.write((tx) => q.deleteFinished(tx, olderThan, limit));
  }

  depth(only?: string) {
    return q.depth(this.sql, only);
  }

  doneCount() {
    return q.doneCount(this.sql);
  }

  getJob(id: number) {
    return q.getJob(this.sql, id);
  }

  electLeader(name: string, nodeId: string, ttlMs: number, now: number) {
    return this.write((tx) => q.electLeader(tx, name, nodeId, ttlMs, now));
  }

  resignLeader(name: string, nodeId: string) {
    return this.write((tx: PgTx) => q.resignLeader(tx, name, nodeId));
  }

  leader(name: string, now: number) {
    return q.currentLeader(this.sql, name, now);
  }

  acquireShards(shards: number[], nodeId: string, ttlMs: number, now: number) {
    return this.write((tx) => q.acquireShards(tx, shards, nodeId, ttlMs, now));
  }

  releaseShards(held: Array<{ shard: number; epoch: number }>, nodeId: string) {
    return this.write((tx) => q.releaseShards(tx, held, nodeId));
  }

  async checkShard(tx: PgTx, shard: number, nodeId: string, epoch: number, now: number): Promise<void> {
    if (!(await q.holdsShard(tx, shard, nodeId, epoch, now))) throw new FencedError(shard, epoch);
  }

  shardLeases() {
    return q.shardLeases(this.sql);
  }

  touchNode(nodeId: string, startedAt: number, now: number, info: unknown) {
    return this.write((tx) => q.touchNode(tx, nodeId, startedAt, now, info));
  }

  nodesSeenSince(since: number) {
    return q.nodesSeenSince(this.sql, since);
  }

  onJobsAvailable(listener: (kinds: string[]) => void): void {
    this.listeners.push(listener);
    // A failed LISTEN (server down at start) is not fatal: porsager retries, and workers poll.
    this.listening ??= this.sql.listen(this.channel, (payload) => this.onNotification(payload)).catch(() => {});
  }

  /** Resolves once LISTEN is active (tests; the daemon does not need to wait). */
  async ready(): Promise<void> {
    await this.listening;
  }

  private onNotification(payload: string): void {
    let msg: { n?: string; k?: string[] | "*" };
    try {
      msg = JSON.parse(payload);
    } catch {
      return; // not ours
    }
    if (msg.n === this.options.nodeId) return; // this node already woke itself after the commit
    this.notificationsReceived++;
    this.emit(msg.k === "*" ? ["*"] : (msg.k ?? []));
  }

  async check() {
    try {
      await this.sql`SELECT 1`;
    } catch (err) {
      return { ok: false, error: `database unreachable: ${(err as Error).message}` };
    }
    if (this.group.lastCommitError) return { ok: false, error: `last commit failed: ${this.group.lastCommitError.message}` };
    return { ok: true };
  }

  async close() {
    await this.group.drain();
    await this.sql.end({ timeout: 5 });
  }
}
