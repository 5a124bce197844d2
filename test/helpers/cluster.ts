// N ferry nodes (the compiled binary, each its own port and config file) on one PostgreSQL, for
// the multi-node tests and benchmarks. Each node gets cluster.node_id; the caller chooses the
// order they start in (the first one to start becomes the leader).
import { join } from "node:path";
import { freePort, jsonRequest, spawnFerry, tempDir, writeConfig, type ChildFerry } from "./ferry";

export interface ClusterNode extends ChildFerry {
  id: string;
  dir: string;
  configPath: string;
}

/** The parts of GET /health a cluster test reads. */
export interface NodeHealth {
  status: string;
  cluster?: { driver: string; node_id: string; leader: string | null; is_leader: boolean; peers: string[]; owned_shards: number[] };
  scheduler: Array<{ name: string; leader_only: boolean; runs: number; skipped: number; last_run_at: string | null }>;
  recommender?: { pending_events?: number };
  [section: string]: unknown;
}

/**
 * Writes `config` for node `id` (storage.driver postgres on `url`, cluster.node_id `id`, its own
 * port) and starts it; resolves once its /health answers 200.
 */
export async function startNode(id: string, url: string, config: Record<string, any>, opts: { binary?: string } = {}): Promise<ClusterNode> {
  const dir = tempDir(`ferry-${id}-`);
  const port = freePort();
  const configPath = writeConfig(dir, {
    ...config,
    server: { ...(config.server ?? {}), port },
    storage: { driver: "postgres", url, path: join(dir, "unused.db"), ...(config.storage ?? {}) },
    cluster: { ...(config.cluster ?? {}), node_id: id },
  });
  const child = await spawnFerry(configPath, port, { binary: opts.binary });
  return Object.assign(child, { id, dir, configPath });
}

export async function healthOf(node: { url: string }): Promise<NodeHealth | null> {
  try {
    const r = await jsonRequest(node.url, "GET", "/health");
    return r.status === 200 ? ((await r.json()) as NodeHealth) : null;
  } catch {
    return null; // down, or not answering
  }
}
