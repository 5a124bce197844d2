import { hostname } from "node:os";
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

/** Another live process heartbeats under this node's id (two nodes configured with one cluster.node_id). */
export class NodeIdInUseError extends Error {}

/** What a node publishes in its row besides the caller's info: who it is, to tell two processes apart. */
interface Identity {
  instance?: string;
  pid?: number;
  host?: string;
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
  /** This process among all that ever used the node id (a restart is a new instance). */
  private readonly instance = crypto.randomUUID();
  private lastTouch = 0;
  /** Set when another process took over this node id: this one leaves the cluster until restarted. */
  private conflict: string | null = null;

  constructor(
    private driver: StoreDriver<unknown>,
    private options: MembershipOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Before serving: the node id must not be another live process's. A row still fresh from this
   * node's previous run (a crash, a quick restart) is waited out, up to the TTL; a row that keeps
   * being renewed by someone else is a second node with the same cluster.node_id: refused.
   */
  async claimNodeId(): Promise<void> {
    if (this.driver.name === "sqlite") return;
    const { nodeId, ttlMs, heartbeatMs, clock } = this.options;
    // Wall time for the wait itself (a test clock may stand still).
    const deadline = Date.now() + ttlMs + heartbeatMs;
    let first: { instance?: string; seenAt: number } | null = null;
    for (;;) {
      const row = (await this.driver.nodesSeenSince(clock.now() - ttlMs)).find((n) => n.node_id === nodeId);
      if (!row) return;
      const other = identityOf(row.info);
      const alive = first !== null && (other.instance !== first.instance || row.seen_at > first.seenAt);
      if (alive || Date.now() >= deadline) {
        throw new NodeIdInUseError(`cluster.node_id "${nodeId}" is in use by another running ferry (${describe(other)}, last heartbeat ${Math.max(0, Math.round((clock.now() - row.seen_at) / 1000))} s ago): give each node its own cluster.node_id`);
      }
      if (!first) {
        first = { instance: other.instance, seenAt: row.seen_at };
        this.options.log.warn({ node: nodeId, other: describe(other) }, `node ${nodeId} has a fresh heartbeat (a previous run?); waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for it to expire`);
      }
      await new Promise((r) => setTimeout(r, Math.max(50, Math.min(heartbeatMs, deadline - Date.now()))));
    }
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
    if (this.conflict) return;
    const { nodeId, ttlMs, clock } = this.options;
    const now = clock.now();
    try {
      const seen = await this.driver.nodesSeenSince(now - ttlMs);
      const own = seen.find((n) => n.node_id === nodeId);
      const other = own && identityOf(own.info);
      if (other && other.instance !== this.instance && own!.seen_at > this.lastTouch) return this.leaveOnConflict(other);
      await this.driver.touchNode(nodeId, this.startedAt, now, { ...(this.options.info?.() as object | undefined), instance: this.instance, pid: process.pid, host: hostname() });
      this.lastTouch = now;
      const won = await this.driver.electLeader(LEADER, nodeId, ttlMs, now);
      if (won !== this.leading) this.options.log.info({ node: nodeId }, won ? "this node is now the leader" : "this node is no longer the leader");
      this.leading = won;
      this.leaderId = won ? nodeId : ((await this.driver.leader(LEADER, now))?.node_id ?? null);
      this.peers = [...new Set([...seen.map((n) => n.node_id), nodeId])].sort();
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

  /**
   * Another process heartbeats under our id: two nodes share one cluster.node_id. Shards and the
   * leader row are keyed by it, so this process gives both up and stops heartbeating (the other
   * keeps them); /health names the problem until an operator fixes the config and restarts.
   */
  private leaveOnConflict(other: Identity): void {
    const { nodeId } = this.options;
    this.conflict = `cluster.node_id "${nodeId}" is also used by another running ferry (${describe(other)}); this process left the cluster (no shards, not leader): give each node its own cluster.node_id and restart it`;
    this.options.log.error({ node: nodeId, other: describe(other) }, this.conflict);
    this.leading = false;
    this.leaderId = null;
    this.options.shards?.dropAll();
    this.error = this.conflict;
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
    // Leave the peer list now (heartbeat time 0), so the others rebalance and a restart under this
    // id need not wait out the TTL. Not when another process holds the id: the row is its.
    if (this.driver.name !== "sqlite" && !this.conflict && this.lastTouch) {
      await this.driver.touchNode(this.options.nodeId, this.startedAt, 0, { instance: this.instance, pid: process.pid, host: hostname() }).catch(() => {});
    }
    if (this.leading) {
      this.leading = false;
      if (this.driver.name === "sqlite") return;
      await this.driver.resignLeader(LEADER, this.options.nodeId).catch(() => {});
    }
  }
}

function identityOf(info: string): Identity {
  try {
    const o = JSON.parse(info) as Identity;
    return o && typeof o === "object" ? o : {};
  } catch {
    return {};
  }
}

function describe(o: Identity): string {
  return `pid ${o.pid ?? "?"} on ${o.host ?? "?"}`;
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
