-- Leader election and node heartbeats for maintenance services (DESIGN.md "Growing past one machine"): one row per
-- role, held by one node until expires_at (unix ms) unless it renews. One SQLite node always wins;
-- the table exists so both drivers share one election (src/cluster/elector.ts).
CREATE TABLE leaders (
  name       TEXT    PRIMARY KEY,
  node_id    TEXT    NOT NULL,
  elected_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Every node's heartbeat: the peers a node sees are the rows renewed within cluster.leader_ttl.
CREATE TABLE nodes (
  node_id    TEXT    PRIMARY KEY,
  started_at INTEGER NOT NULL,
  seen_at    INTEGER NOT NULL,
  info       TEXT    NOT NULL DEFAULT '{}'
);

-- Course shards leased to nodes (src/cluster/shards.ts). epoch grows by one at every change of
-- owner: a write for a shard checks its epoch (fencing), so a node that lost the lease cannot
-- overwrite what its successor wrote.
CREATE TABLE shard_leases (
  shard      INTEGER PRIMARY KEY,
  node_id    TEXT    NOT NULL,
  epoch      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
