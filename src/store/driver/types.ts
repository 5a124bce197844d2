// The storage driver interface (River's riverdriver, with riverpgxv5 / riversqlite as the model):
// everything the lease queue and the cluster services need from a database, one implementation
// per database (sqlite.ts, postgres.ts), exercised by one shared suite (test/driver/). Every
// mutating call is one write in the driver's group commit: calls made in the same event-loop
// turn share one transaction, and each promise settles only once that transaction is durable.
import type { JobRow, NewJob } from "../../queue/types";

export type DriverName = "sqlite" | "postgres";

export interface LeaseRef {
  id: number;
  token: string;
}

export interface Completion extends LeaseRef {
  result?: unknown;
}

export interface Failure extends LeaseRef {
  error: string;
  /** Next try at (unix ms), or null: the job is dead. */
  retryAt: number | null;
}

export interface LeaderRow {
  name: string;
  node_id: string;
  elected_at: number;
  expires_at: number;
}

export interface NodeRow {
  node_id: string;
  started_at: number;
  seen_at: number;
  /** JSON the node published with its heartbeat (e.g. its URL and version). */
  info: string;
}

export interface ShardLease {
  shard: number;
  node_id: string;
  epoch: number;
  expires_at: number;
}

/** A shard write whose lease (node + epoch) is no longer held: the write is rolled back. */
export class FencedError extends Error {
  constructor(
    readonly shard: number,
    readonly epoch: number,
  ) {
    super(`shard ${shard}: lease epoch ${epoch} is no longer held by this node (another node owns the shard now)`);
  }
}

/** Jobs per kind and status ({ kind: { queued, running, retry, dead } }). */
export type QueueDepth = Record<string, Record<string, number>>;

/** What a transaction-scoped call returns: a value on SQLite (synchronous transactions), a promise on PostgreSQL. */
export type TxResult<T> = T | Promise<T>;

/**
 * `Tx` is the driver's transaction handle, what feature writes receive: better-sqlite3's Db on
 * SQLite, porsager's TransactionSql on PostgreSQL.
 */
export interface StoreDriver<Tx = unknown> {
  readonly name: DriverName;
  /** Applies the migrations not yet recorded; returns the versions applied now. */
  migrate(): Promise<number[]>;

  enqueue(jobs: NewJob[], defaultMaxAttempts: number, now: number): Promise<Array<{ id: number; created: boolean }>>;
  /** Inside a caller's write (the job commits with the data it refers to); wakes workers after that commit. */
  enqueueIn(tx: Tx, jobs: NewJob[], defaultMaxAttempts: number, now: number): TxResult<Array<{ id: number; created: boolean }>>;
  /** replay() inside a caller's write. */
  replayIn(tx: Tx, id: number, now: number): TxResult<string | null>;
  /** complete() of one job; `also` runs in the same transaction, only when the lease was still held. */
  completeWith(item: Completion, now: number, also: ((tx: Tx) => TxResult<unknown>) | null): Promise<boolean>;
  /** fail() of one job; `also` runs in the same transaction, only when the lease was still held. */
  failWith(item: Failure, now: number, also: ((tx: Tx) => TxResult<unknown>) | null): Promise<boolean>;
  /** Up to `limit` due jobs of one kind, each under a fresh lease; `nextDueAt` when fewer were due. */
  claim(kind: string, limit: number, leaseMs: number, now: number): Promise<{ jobs: JobRow[]; nextDueAt: number | null }>;
  /** One entry per item: false when that lease was lost (another worker owns the job now). */
  complete(items: Completion[], now: number): Promise<boolean[]>;
  fail(items: Failure[], now: number): Promise<boolean[]>;
  heartbeat(items: LeaseRef[], leaseMs: number, now: number): Promise<boolean[]>;
  /** Shutdown: running jobs go back to the queue, the interrupted attempt not counted. */
  release(items: LeaseRef[], now: number): Promise<number>;
  /** Jobs whose lease expired become due again (or dead); returns their kinds. */
  recoverExpired(now: number): Promise<string[]>;
  replay(id: number, now: number): Promise<string | null>;
  replayKind(kind: string, now: number): Promise<number[]>;
  deleteFinished(olderThan: number, limit: number): Promise<number>;
  depth(only?: string): Promise<QueueDepth>;
  doneCount(): Promise<number>;
  getJob(id: number): Promise<JobRow | undefined>;

  /**
   * Takes or renews the leader row `name` for `nodeId` until now + ttlMs (an upsert that only
   * wins when the row is ours or expired). True when `nodeId` is the leader now.
   */
  electLeader(name: string, nodeId: string, ttlMs: number, now: number): Promise<boolean>;
  resignLeader(name: string, nodeId: string): Promise<void>;
  leader(name: string, now: number): Promise<LeaderRow | null>;
  /** Takes or renews the leases of `shards` until now + ttlMs; returns those held now, with their epoch. */
  acquireShards(shards: number[], nodeId: string, ttlMs: number, now: number): Promise<Array<{ shard: number; epoch: number }>>;
  /** Gives leases up at once (expired), so their next owner need not wait for the TTL. */
  releaseShards(held: Array<{ shard: number; epoch: number }>, nodeId: string): Promise<void>;
  /**
   * Fencing, inside a caller's write: throws FencedError unless `nodeId` still holds `shard` at
   * `epoch`. On PostgreSQL the lease row stays share-locked until that write commits, so a
   * takeover waits for it: a write that passed the check can never land after its successor's.
   */
  checkShard(tx: Tx, shard: number, nodeId: string, epoch: number, now: number): TxResult<void>;
  shardLeases(): Promise<ShardLease[]>;
  /** A node's heartbeat (upsert of its row). */
  touchNode(nodeId: string, startedAt: number, now: number, info: unknown): Promise<void>;
  /** Nodes whose heartbeat is at or after `since`, by node id. */
  nodesSeenSince(since: number): Promise<NodeRow[]>;

  /**
   * Called with the kinds that got runnable jobs from any node (PostgreSQL: LISTEN/NOTIFY, one
   * notification per commit; SQLite: this process's commits). Notifications can be lost (a
   * reconnect), so workers also poll.
   */
  onJobsAvailable(listener: (kinds: string[]) => void): void;
  /** Group commits so far (tests and /metrics). */
  readonly commits: number;
  check(): Promise<{ ok: boolean; error?: string }>;
  close(): Promise<void>;
}
