import type { Logger } from "pino";
import type { Clock } from "../queue/types";
import type { DriverName, StoreDriver } from "../store/driver/types";
import { family } from "../http/metrics";
import type { ShardOwner } from "./shards";

export interface MembershipOptions {
  nodeId: string;
  /** Renewal interval of the heartbeat and the leader row (cluster.heartbeat). */
  heartbeatMs: number;
  /** A leader or peer silent this long is gone (cluster.leader_ttl). */
  ttlMs: number;
  clock: Clock;
  log: Logger;
  /** Published with the heartbeat (e.g. the node's URL and version). */
  info?: () => unknown;
  /** Rebalanced at every heartbeat over the peers seen. */
  shards?: ShardOwner;
}

export interface ClusterStatus {
  driver: DriverName;
  node_id: string;
  leader: string | null;
  is_leader: boolean;
  /** Nodes (this one included) whose heartbeat is younger than the TTL. */
  peers: string[];
  /** Course shards this node owns (their in-memory state is its alone). */
  owned_shards: number[];
  last_heartbeat_at: string | null;
  error?: string;
}

/** The leader row every maintenance service of the cluster runs under (one at a time). */
export const LEADER = "maintenance";

/**
 * This node's place in the cluster: every heartbeat it renews its node row and tries to take or
 * keep the leader row (River's elector: an upsert that wins only when the row is ours or
 * expired). Leadership is lost as soon as a renewal fails or loses, so at most one node believes
 * it leads for longer than one heartbeat. On SQLite the instance lock already makes this process
 * the only one, so it leads without writing anything (no extra fsync every heartbeat).
 */
export class Membership {
  private timer: ReturnType<typeof setInterval> | null = null;
  private startedAt = 0;
  private leading = false;
  private leaderId: string | null = null;
  private peers: string[] = [];
  private lastBeat: number | null = null;
  private error: string | null = null;
  private beating: Promise<void> | null = null;

  constructor(
    private driver: StoreDriver<unknown>,
    private options: MembershipOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** The first heartbeat and election, then one per interval. */
  async start(): Promise<void> {
    this.startedAt = this.options.clock.now();
    if (this.driver.name === "sqlite") {
      this.leading = true;
      this.leaderId = this.options.nodeId;
      this.peers = [this.options.nodeId];
      this.lastBeat = this.startedAt;
      return;
    }
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref?.();
  }

  /** One heartbeat now (the timer's, and tests'). */
  beat(): Promise<void> {
    this.beating ??= this.round().finally(() => (this.beating = null));
    return this.beating;
  }

  private async round(): Promise<void> {
    const { nodeId, ttlMs, clock } = this.options;
    const now = clock.now();
    try {
      await this.driver.touchNode(nodeId, this.startedAt, now, this.options.info?.() ?? {});
      const won = await this.driver.electLeader(LEADER, nodeId, ttlMs, now);
      if (won !== this.leading) this.options.log.info({ node: nodeId }, won ? "this node is now the leader" : "this node is no longer the leader");
      this.leading = won;
      this.leaderId = won ? nodeId : ((await this.driver.leader(LEADER, now))?.node_id ?? null);
      this.peers = (await this.driver.nodesSeenSince(now - ttlMs)).map((n) => n.node_id);
      await this.options.shards?.rebalance(this.peers);
      this.lastBeat = now;
      this.error = null;
    } catch (err) {
      // Cannot prove we still lead: stop acting as leader until a renewal succeeds.
      if (this.leading) this.options.log.warn({ err, node: nodeId }, "leader renewal failed; stepping down");
      this.leading = false;
      this.options.shards?.dropAll();
      this.error = (err as Error).message;
    }
  }

  status(): ClusterStatus {
    return {
      driver: this.driver.name,
      node_id: this.options.nodeId,
      leader: this.leaderId,
      is_leader: this.leading,
      peers: this.peers,
      owned_shards: this.options.shards?.ownedShards() ?? [],
      last_heartbeat_at: this.lastBeat === null ? null : new Date(this.lastBeat).toISOString(),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** Stops heartbeating and hands the leader row over at once (no waiting for the TTL). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    await this.options.shards?.stop();
    if (this.leading) {
      this.leading = false;
      if (this.driver.name === "sqlite") return;
      await this.driver.resignLeader(LEADER, this.options.nodeId).catch(() => {});
    }
  }
}

/** /metrics: whether this node leads, and how many nodes it sees. */
export function clusterMetrics(s: ClusterStatus): string[] {
  const labels = { driver: s.driver, node: s.node_id };
  return [
    family("ferry_cluster_is_leader", "gauge", "1 while this node runs the leader-only maintenance services.", [[labels, s.is_leader ? 1 : 0]]),
    family("ferry_cluster_peers", "gauge", "Nodes (this one included) with a fresh heartbeat.", [[labels, s.peers.length]]),
    family("ferry_cluster_owned_shards", "gauge", "Course shards this node owns.", [[labels, s.owned_shards.length]]),
  ];
}
