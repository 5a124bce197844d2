import type { Logger } from "pino";
import type { Clock } from "../queue/types";
import type { StoreDriver } from "../store/driver/types";
import { ownerOf } from "./rendezvous";

export interface ShardOwnerOptions {
  nodeId: string;
  /** Number of shards (cluster.shards); courses map onto them with shardOfCourse. */
  shards: number;
  /** A lease not renewed for this long may be taken over (cluster.leader_ttl). */
  ttlMs: number;
  clock: Clock;
  log: Logger;
  /** Called when this node takes a shard (load its snapshot, replay its events), and when it loses one. */
  onAcquire?: (shard: number, epoch: number) => void;
  onLose?: (shard: number) => void;
}

/** A feature keeping per-shard state (the recommender): told when this node takes or loses a shard. */
export interface ShardListener {
  acquired?(shard: number, epoch: number): void;
  lost?(shard: number): void;
  /** Stopping, before the leases are handed over: the last fenced writes (a final snapshot). */
  beforeStop?(): Promise<void>;
}

/**
 * The course shards this node owns. At every membership heartbeat (`rebalance(peers)`) the node
 * works out, by rendezvous hashing over the live nodes, which shards should be its own; it renews
 * or takes those (a takeover bumps the epoch) and releases the ones that now belong to another
 * node. A renewal that fails drops every shard at once: without a held lease nothing may be
 * written for them (writes pass `epochOf(shard)` to the driver's checkShard). On SQLite the
 * single process owns every shard at epoch 0 and nothing is written.
 */
export class ShardOwner {
  private owned = new Map<number, number>();
  private listeners: ShardListener[] = [];

  constructor(
    private driver: StoreDriver<unknown>,
    private options: ShardOwnerOptions,
  ) {}

  /** Features register here (the daemon builds the owner before them, so not through the options). */
  addListener(listener: ShardListener): void {
    this.listeners.push(listener);
  }

  /** The number of shards courses are spread over (cluster.shards). */
  get count(): number {
    return this.options.shards;
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  get solo(): boolean {
    return this.driver.name === "sqlite";
  }

  /** The epoch this node holds `shard` at, or null when it does not own it. */
  epochOf(shard: number): number | null {
    if (this.solo) return 0;
    return this.owned.get(shard) ?? null;
  }

  ownedShards(): number[] {
    if (this.solo) return Array.from({ length: this.options.shards }, (_, i) => i);
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async rebalance(peers: readonly string[]): Promise<void> {
    if (this.solo) return;
    const { nodeId, shards, ttlMs, clock } = this.options;
    const live = peers.includes(nodeId) ? peers : [...peers, nodeId];
    const mine: number[] = [];
    const giveUp: Array<{ shard: number; epoch: number }> = [];
    for (let s = 0; s < shards; s++) {
      if (ownerOf(s, live) === nodeId) mine.push(s);
      else if (this.owned.has(s)) giveUp.push({ shard: s, epoch: this.owned.get(s)! });
    }
    try {
      // Release first, so the new owner can take them in its next round.
      if (giveUp.length) {
        for (const g of giveUp) this.lose(g.shard);
        await this.driver.releaseShards(giveUp, nodeId);
      }
      const held = await this.driver.acquireShards(mine, nodeId, ttlMs, clock.now());
      const now = new Map(held.map((h) => [h.shard, h.epoch]));
      for (const [s] of this.owned) if (!now.has(s)) this.lose(s); // taken over meanwhile (we were presumed dead)
      for (const [s, epoch] of now) {
        const before = this.owned.get(s);
        this.owned.set(s, epoch);
        if (before !== epoch) {
          this.options.onAcquire?.(s, epoch);
          for (const l of this.listeners) l.acquired?.(s, epoch);
        }
      }
    } catch (err) {
      this.options.log.warn({ err, node: nodeId }, "renewing shard leases failed; dropping every shard until the next heartbeat");
      this.dropAll();
    }
  }

  /** The heartbeat failed: without a renewed lease, nothing of any shard may be written. */
  dropAll(): void {
    for (const [s] of this.owned) this.lose(s);
  }

  private lose(shard: number): void {
    if (!this.owned.delete(shard)) return;
    this.options.onLose?.(shard);
    for (const l of this.listeners) l.lost?.(shard);
  }

  /** Stopping: hand every shard over at once. */
  async stop(): Promise<void> {
    if (this.solo || !this.owned.size) return;
    for (const l of this.listeners) await l.beforeStop?.().catch((err) => this.options.log.warn({ err }, "a shard listener failed before the handover"));
    const held = [...this.owned].map(([shard, epoch]) => ({ shard, epoch }));
    this.owned.clear();
    await this.driver.releaseShards(held, this.options.nodeId).catch(() => {});
  }
}
