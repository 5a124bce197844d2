import { parseArgs } from "node:util";
import { loadServerAddress } from "../config/load";
import { UsageError } from "./common";
import { EXIT } from "./exit-codes";

type Section = Record<string, unknown> & { ok?: boolean; status?: string };
interface Health {
  status: string;
  problems?: string[];
  version: string;
  uptime_seconds: number;
  database: { ok: boolean; driver?: string; error?: string; schema_version?: number; last_commit_at: string | null };
  queue: { depth: Record<string, Record<string, number>>; done: number; running: number };
  scheduler: Array<{ name: string; ok: boolean; last_error?: string | null }>;
  [name: string]: unknown;
}

const CORE = new Set(["status", "problems", "version", "uptime_seconds", "started_at", "database", "queue", "scheduler", "cluster"]);

/** The cluster section (src/cluster/membership.ts ClusterStatus) as the daemon reports it. */
interface Cluster {
  driver: string;
  node_id: string;
  leader: string | null;
  is_leader: boolean;
  peers: string[];
  owned_shards: number[];
  error?: string;
}

/** "0-3, 7, 9-10" */
function ranges(ns: number[]): string {
  const out: string[] = [];
  const sorted = [...ns].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j;
  }
  return out.join(", ");
}

/** This node, the leader, the peers it sees and the shards it owns (the section is absent before the cluster starts). */
function clusterLine(c: Cluster): [string, string] {
  if (c.error) return ["failing", `node ${c.node_id}: ${c.error}`];
  const leader = c.is_leader ? "this node leads" : `leader ${c.leader ?? "none"}`;
  const peers = `${c.peers.length} node${c.peers.length === 1 ? "" : "s"} (${c.peers.join(", ")})`;
  return ["ok", `${c.driver}, node ${c.node_id}, ${leader}, ${peers}, shards ${c.owned_shards.length ? ranges(c.owned_shards) : "none"}`];
}

function duration(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function queueLine(q: Health["queue"]): [string, string] {
  const totals: Record<string, number> = {};
  for (const byStatus of Object.values(q.depth)) for (const [st, n] of Object.entries(byStatus)) totals[st] = (totals[st] ?? 0) + n;
  const dead = totals.dead ?? 0;
  const parts = ["queued", "retry", "dead"].map((st) => `${totals[st] ?? 0} ${st}`);
  return [dead ? "degraded" : "ok", `${q.running} running, ${parts.join(", ")}, ${q.done} done kept`];
}

/** What a feature section says, briefly: its status word and the fields a person looks for first. */
function sectionLine(s: Section): [string, string] {
  const word = s.enabled === false ? "off" : typeof s.status === "string" ? s.status : s.ok === false ? "failing" : "ok";
  const facts = Object.entries(s)
    .filter(([k, v]) => !["ok", "status", "enabled"].includes(k) && (typeof v === "number" || typeof v === "string" || typeof v === "boolean" || v === null))
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v ?? "-"}`);
  // Members with their own status (webhook subscribers): name the ones that are not healthy.
  for (const v of Object.values(s)) {
    if (!v || typeof v !== "object" || Array.isArray(v)) continue;
    const members = Object.entries(v as Record<string, { status?: unknown }>).filter(([, m]) => m && typeof m === "object" && typeof m.status === "string");
    const bad = members.filter(([, m]) => !["healthy", "ok"].includes(m.status as string));
    if (members.length) facts.push(bad.length ? bad.map(([id, m]) => `${id} ${m.status}`).join(", ") : `${members.length} healthy`);
  }
  return [word === "healthy" ? "ok" : word, facts.join(", ")];
}

/** The health report for a person: a headline, one line per part, then the problems. */
export function formatHealth(h: Health, url: string): string[] {
  const rows: Array<[string, string, string]> = [];
  const d = h.database;
  // PostgreSQL: commits are the whole cluster's, so no "last commit" of this node is shown.
  const commit = `, last commit ${d.last_commit_at ?? "none yet"}`;
  rows.push(["database", d.ok ? "ok" : "unavailable", d.ok ? `${d.driver ? `${d.driver}, ` : ""}schema ${d.schema_version}${commit}` : (d.error ?? "")]);
  rows.push(["queue", ...queueLine(h.queue)]);
  const failed = h.scheduler.filter((j) => !j.ok);
  rows.push(["scheduler", failed.length ? "degraded" : "ok", failed.length ? `failed: ${failed.map((j) => j.name).join(", ")}` : `${h.scheduler.length} services`]);
  const cluster = h.cluster as Cluster | undefined;
  if (cluster && typeof cluster === "object" && Array.isArray(cluster.peers)) rows.push(["cluster", ...clusterLine(cluster)]);
  for (const [name, value] of Object.entries(h)) {
    if (CORE.has(name) || !value || typeof value !== "object" || Array.isArray(value)) continue;
    rows.push([name, ...sectionLine(value as Section)]);
  }
  const nw = Math.max(...rows.map((r) => r[0].length));
  const sw = Math.max(...rows.map((r) => r[1].length));
  const out = [`ferry ${h.version} at ${url}: ${h.status.toUpperCase()} (up ${duration(h.uptime_seconds)})`];
  for (const [n, s, d] of rows) out.push(`  ${n.padEnd(nw)}  ${s.padEnd(sw)}  ${d}`.trimEnd());
  if (h.problems?.length) {
    out.push("problems:");
    for (const p of h.problems) out.push(`  - ${p}`);
  }
  return out;
}

/** ferry status: asks the running daemon (server.host/port of the config, or --url) for /health. */
export async function statusCommand(configPath: string, argv: string[]): Promise<void> {
  let values: { url?: string; json?: boolean };
  try {
    const parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { config: { type: "string", short: "c" }, url: { type: "string" }, json: { type: "boolean" } } });
    if (parsed.positionals.length > 1) throw new Error(`unexpected argument "${parsed.positionals[1]}"`);
    values = parsed.values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let base = values.url;
  if (!base) {
    const server = loadServerAddress(configPath);
    const host = server.host === "0.0.0.0" ? "127.0.0.1" : server.host === "::" ? "[::1]" : server.host.includes(":") ? `[${server.host}]` : server.host;
    base = `http://${host}:${server.port}`;
  }
  base = base.replace(/\/+$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    console.error(`ferry: no answer from ${base}/health (${(err as Error).message}); is ferry running? (systemctl status ferry)`);
    process.exit(EXIT.unavailable);
  }
  const h = (await res.json().catch(() => null)) as Health | null;
  if (!h || typeof h.status !== "string") {
    console.error(`ferry: ${base}/health answered ${res.status} without a health report`);
    process.exit(EXIT.unavailable);
  }
  if (values.json) console.log(JSON.stringify(h, null, 2));
  else for (const line of formatHealth(h, base)) console.log(line);
  process.exit(h.status === "ok" ? EXIT.ok : h.status === "degraded" ? EXIT.failure : EXIT.unavailable);
}
