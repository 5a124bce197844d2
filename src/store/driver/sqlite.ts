import type { Store } from "../db";
import { claimJobs, nextDueAt } from "../../queue/claim";
import { deleteFinishedJobs } from "../../queue/cleanup";
import { completeJobs } from "../../queue/complete";
import { enqueueJobs } from "../../queue/enqueue";
import { failJobs } from "../../queue/fail";
import { heartbeatJob } from "../../queue/heartbeat";
import { recoverExpiredLeases } from "../../queue/recover";
import { releaseJob } from "../../queue/release";
import { replayDeadJobs, replayJob } from "../../queue/replay";
import { doneCount, getJob, queueDepth } from "../../queue/stats";
import { acquireShards, currentLeader, electLeader, holdsShard, nodesSeenSince, releaseShards, resignLeader, shardLeases, touchNode } from "../leader";
import type { Db } from "../sqlite";
import { completeJob } from "../../queue/complete";
import { failJob } from "../../queue/fail";
import type { NewJob } from "../../queue/types";
import { FencedError, type Completion, type Failure, type LeaseRef, type StoreDriver, type TxResult } from "./types";

/**
 * The embedded driver: the better-sqlite3 Store (group commit + fdatasync) and the queue's SQL
 * in src/queue/*. One process owns the file (the instance lock), so "jobs available" is this
 * process's own commits.
 */
export class SqliteDriver implements StoreDriver<Db> {
  readonly name = "sqlite" as const;
  private listeners: Array<(kinds: string[]) => void> = [];

  constructor(readonly store: Store) {}

  get commits(): number {
    return this.store.commits;
  }

  async migrate(): Promise<number[]> {
    return this.store.migrate();
  }

  /** Inside a write: tell the listeners about `kinds` once it is committed. */
  private announce(kinds: string[]): void {
    if (!kinds.length || !this.listeners.length) return;
    const tell = () => {
      for (const l of this.listeners) l(kinds);
    };
    // Outside store.write/writeNow (a caller using store.db directly) the next durable commit tells them.
    if (this.store.inWrite) this.store.afterCommit(tell);
    else this.store.onNextCommit(tell);
  }

  enqueueIn(db: Db, jobs: NewJob[], defaultMaxAttempts: number, now: number) {
    const out = enqueueJobs(db, jobs, now, defaultMaxAttempts);
    this.announce([...new Set(jobs.filter((_, i) => out[i]!.created).map((j) => j.kind))]);
    return out;
  }

  replayIn(db: Db, id: number, now: number) {
    const kind = replayJob(db, id, now);
    if (kind) this.announce([kind]);
    return kind;
  }

  completeWith(item: Completion, now: number, also: ((db: Db) => TxResult<unknown>) | null) {
    return this.store.write((db) => {
      const held = completeJob(db, item.id, item.token, item.result, now);
      if (held && also) syncOnly(also(db));
      return held;
    });
  }

  failWith(item: Failure, now: number, also: ((db: Db) => TxResult<unknown>) | null) {
    return this.store.write((db) => {
      const held = failJob(db, item.id, item.token, item.error, item.retryAt, now);
      if (held && also) syncOnly(also(db));
      return held;
    });
  }

  enqueue(jobs: NewJob[], defaultMaxAttempts: number, now: number) {
    return this.store.write((db) => this.enqueueIn(db, jobs, defaultMaxAttempts, now));
  }

  claim(kind: string, limit: number, leaseMs: number, now: number) {
    return this.store.write((db) => {
      const jobs = claimJobs(db, kind, limit, leaseMs, now);
      return { jobs, nextDueAt: jobs.length < limit ? nextDueAt(db, kind) : null };
    });
  }

  complete(items: Completion[], now: number) {
    return this.store.write((db) => completeJobs(db, items, now));
  }

  fail(items: Failure[], now: number) {
    return this.store.write((db) => failJobs(db, items, now));
  }

  heartbeat(items: LeaseRef[], leaseMs: number, now: number) {
    return this.store.write((db) => items.map((i) => heartbeatJob(db, i.id, i.token, leaseMs, now)));
  }

  release(items: LeaseRef[], now: number) {
    return this.store.write((db) => items.filter((i) => releaseJob(db, i.id, i.token, now)).length);
  }

  recoverExpired(now: number) {
    return this.store.write((db) => {
      const kinds = recoverExpiredLeases(db, now);
      this.announce([...new Set(kinds)]);
      return kinds;
    });
  }

  replay(id: number, now: number) {
    return this.store.write((db) => this.replayIn(db, id, now));
  }

  replayKind(kind: string, now: number) {
    return this.store.write((db) => {
      const ids = replayDeadJobs(db, kind, now);
      if (ids.length) this.announce([kind]);
      return ids;
    });
  }

  deleteFinished(olderThan: number, limit: number) {
    return this.store.write((db) => deleteFinishedJobs(db, olderThan, limit));
  }

  async depth(only?: string) {
    return queueDepth(this.store.db, only);
  }

  async doneCount() {
    return doneCount(this.store.db);
  }

  async getJob(id: number) {
    return getJob(this.store.db, id);
  }

  electLeader(name: string, nodeId: string, ttlMs: number, now: number) {
    return this.store.write((db) => electLeader(db, name, nodeId, ttlMs, now));
  }

  resignLeader(name: string, nodeId: string) {
    return this.store.write((db) => resignLeader(db, name, nodeId));
  }

  async leader(name: string, now: number) {
    return currentLeader(this.store.db, name, now);
  }

  acquireShards(shards: number[], nodeId: string, ttlMs: number, now: number) {
    return this.store.write((db) => acquireShards(db, shards, nodeId, ttlMs, now));
  }

  releaseShards(held: Array<{ shard: number; epoch: number }>, nodeId: string) {
    return this.store.write((db) => releaseShards(db, held, nodeId));
  }

  checkShard(db: Db, shard: number, nodeId: string, epoch: number, now: number): void {
    if (!holdsShard(db, shard, nodeId, epoch, now)) throw new FencedError(shard, epoch);
  }

  async shardLeases() {
    return shardLeases(this.store.db);
  }

  touchNode(nodeId: string, startedAt: number, now: number, info: unknown) {
    return this.store.write((db) => touchNode(db, nodeId, startedAt, now, info));
  }

  async nodesSeenSince(since: number) {
    return nodesSeenSince(this.store.db, since);
  }

  onJobsAvailable(listener: (kinds: string[]) => void): void {
    this.listeners.push(listener);
  }

  async check() {
    return this.store.check();
  }

  async close() {
    await this.store.drain();
    this.store.close();
  }
}

/** SQLite transactions are synchronous: a write that returns a promise would run after its commit. */
function syncOnly(value: unknown): void {
  if (value instanceof Promise) throw new Error("a write inside a SQLite transaction returned a promise; SQLite writes must be synchronous");
}
