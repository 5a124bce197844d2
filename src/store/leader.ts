import type { Db } from "./sqlite";
import { prepared } from "./prepared";
import type { LeaderRow, NodeRow } from "./driver/types";

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
