import type { Db } from "./sqlite";
import { prepared } from "./prepared";
import type { LeaderRow, NodeRow, ShardLease } from "./driver/types";

// The upsert only takes the row when it is ours (renewal) or has expired (re-election), like River.
const ELECT = `INSERT INTO leaders (name, node_id, elected_at, expires_at) VALUES (?, ?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at,
    elected_at = CASE WHEN leaders.node_id = excluded.node_id THEN leaders.elected_at ELSE excluded.elected_at END
  WHERE leaders.node_id = excluded.node_id OR leaders.expires_at < excluded.elected_at
  RETURNING node_id`;
const RESIGN = "DELETE FROM leaders WHERE name = ? AND node_id = ?";
const CURRENT = "SELECT name, node_id, elected_at, expires_at FROM leaders WHERE name = ? AND expires_at >= ?";

export function electLeader(db: Db, name: string, nodeId: string, ttlMs: number, now: number): boolean {
  return prepared(db, ELECT).get(name, nodeId, now, now + ttlMs) !== undefined;
}

export function resignLeader(db: Db, name: string, nodeId: string): void {
  prepared(db, RESIGN).run(name, nodeId);
}

export function currentLeader(db: Db, name: string, now: number): LeaderRow | null {
  return (prepared<unknown[], LeaderRow>(db, CURRENT).get(name, now) as LeaderRow | undefined) ?? null;
}

const TOUCH = `INSERT INTO nodes (node_id, started_at, seen_at, info) VALUES (?, ?, ?, ?)
  ON CONFLICT (node_id) DO UPDATE SET seen_at = excluded.seen_at, info = excluded.info`;
const SEEN = "SELECT node_id, started_at, seen_at, info FROM nodes WHERE seen_at >= ? ORDER BY node_id";

export function touchNode(db: Db, nodeId: string, startedAt: number, now: number, info: unknown): void {
  prepared(db, TOUCH).run(nodeId, startedAt, now, JSON.stringify(info ?? {}));
}

export function nodesSeenSince(db: Db, since: number): NodeRow[] {
  return prepared<unknown[], NodeRow>(db, SEEN).all(since) as NodeRow[];
}

// Taking a shard: free (no row), ours (renewal, same epoch) or expired (takeover, epoch + 1).
const ACQUIRE = `INSERT INTO shard_leases (shard, node_id, epoch, expires_at) VALUES (?, ?, 1, ?)
  ON CONFLICT (shard) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at,
    epoch = CASE WHEN shard_leases.node_id = excluded.node_id THEN shard_leases.epoch ELSE shard_leases.epoch + 1 END
  WHERE shard_leases.node_id = excluded.node_id OR shard_leases.expires_at < ?
  RETURNING shard, epoch`;
const RELEASE_SHARD = "UPDATE shard_leases SET expires_at = 0 WHERE shard = ? AND node_id = ? AND epoch = ?";
const HOLDS = "SELECT 1 FROM shard_leases WHERE shard = ? AND node_id = ? AND epoch = ? AND expires_at >= ?";
const SHARDS = "SELECT shard, node_id, epoch, expires_at FROM shard_leases ORDER BY shard";

export function acquireShards(db: Db, shards: number[], nodeId: string, ttlMs: number, now: number): Array<{ shard: number; epoch: number }> {
  const out: Array<{ shard: number; epoch: number }> = [];
  for (const s of shards) {
    const row = prepared<unknown[], { shard: number; epoch: number }>(db, ACQUIRE).get(s, nodeId, now + ttlMs, now);
    if (row) out.push({ shard: row.shard, epoch: row.epoch });
  }
  return out;
}

export function releaseShards(db: Db, held: Array<{ shard: number; epoch: number }>, nodeId: string): void {
  for (const h of held) prepared(db, RELEASE_SHARD).run(h.shard, nodeId, h.epoch);
}

export function holdsShard(db: Db, shard: number, nodeId: string, epoch: number, now: number): boolean {
  return prepared(db, HOLDS).get(shard, nodeId, epoch, now) !== undefined;
}

export function shardLeases(db: Db): ShardLease[] {
  return prepared<[], ShardLease>(db, SHARDS).all() as ShardLease[];
}
