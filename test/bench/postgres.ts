// `ferry serve` on PostgreSQL against SQLite in the same run, through HTTP: Moodle ingest
// (100 new logs per request), publish (POST /api/v1/events, a new id each) and deliveries/s
// (a burst fanned out to 4 subscribers); then the same loads on 2 nodes against 1 on PostgreSQL.
// PostgreSQL is a throwaway local cluster (fsync and synchronous_commit on) on the same machine,
// SQLite runs at durability full: every 2xx on either side is after a durable commit. On 2 cores
// shared by ferry, the database server and the load generator, a second node shows the cost of
// coordination, not scale.
import { join } from "node:path";
import postgres from "postgres";
import { rng } from "../../src/cli/evaluate";
import { Database } from "../../src/store/sqlite";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import type { BenchHarness, BenchRow, LoadResult, Running } from "./harness";
import { makeLog } from "./moodle";

const TOKEN = "bench-pg-token";
const SECRET = "whsec_" + Buffer.from("bench-pg-signing-key-32-bytes-l!").toString("base64");
const EVENTS = Number(process.env.BENCH_PG_EVENTS ?? 4000);
const now = () => performance.timeOrigin + performance.now();

type Target = { name: string; storage: Record<string, unknown>; nodes: number };

/** 100 logs per request, each with a logstore id unique to the request (`__SEQ__` + two digits). */
function ingestBody(): string {
  const r = rng(21);
  const logs = Array.from({ length: 100 }, (_, k) => ({ ...makeLog(k, r), id: `__SEQ__${String(k).padStart(2, "0")}` }));
  return JSON.stringify({ logs }).replace(/"(__SEQ__\d\d)"/g, "$1");
}
const PUBLISH_BODY = JSON.stringify({ id: "evt___SEQ__", name: "bench.pg", context: { tenantId: "t1" }, data: { score: 85, pad: "x".repeat(200) } });

function receiver() {
  const counts = new Map<string, number>();
  let last = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      await req.arrayBuffer();
      const path = new URL(req.url).pathname;
      counts.set(path, (counts.get(path) ?? 0) + 1);
      last = now();
      return new Response("ok");
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, counts, last: () => last, stop: () => server.stop(true) };
}

async function startNodes(h: BenchHarness, t: Target, extra: Record<string, unknown> = {}): Promise<Running[]> {
  const nodes: Running[] = [];
  // One after another: the first migrates the schema, the others find it current.
  for (let i = 0; i < t.nodes; i++) {
    nodes.push(await h.startFerry({ auth: { api_tokens: [TOKEN] }, moodle: { tokens: [TOKEN] }, storage: t.storage, cluster: { node_id: `bench-${i + 1}` }, ...extra }));
  }
  return nodes;
}

/** The same load on every node at once (connections split between them); rates add up. */
async function loadAll(h: BenchHarness, nodes: Running[], path: string, body: string, headers: Record<string, string>): Promise<LoadResult & { non2xx: number }> {
  const connections = Math.max(1, Math.round(h.connections / nodes.length));
  const got = await Promise.all(nodes.map((n) => h.load({ url: n.url + path, method: "POST", body, headers, connections })));
  return {
    ...got[0]!,
    rps: got.reduce((s, g) => s + g.rps, 0),
    requests: got.reduce((s, g) => s + g.requests, 0),
    p50: Math.max(...got.map((g) => g.p50)),
    p99: Math.max(...got.map((g) => g.p99)),
    non2xx: got.reduce((s, g) => s + g.non2xx, 0),
    errors: got.reduce((s, g) => s + g.errors, 0),
  };
}

/** Logs stored by the target (read from its database while the nodes run). */
async function storedLogs(t: Target, node: Running): Promise<number> {
  if (t.storage.driver === "sqlite") {
    const db = new Database(join(node.dir, "ferry.db"), { readonly: true });
    try {
      return db.prepare("SELECT count(*) FROM log_events").pluck().get() as number;
    } finally {
      db.close();
    }
  }
  const sql = postgres(t.storage.url as string, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(`SELECT count(*)::int AS n FROM ${t.storage.schema}.log_events`))[0]!.n as number;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Ingest under wrk (warm-up + measured run), then the wait until the recommender pipeline has
 * processed every stored log: `endToEnd` is stored logs / (start of the load → backlog processed).
 */
async function ingest(h: BenchHarness, t: Target): Promise<LoadResult & { backlog: string; endToEnd: number }> {
  const nodes = await startNodes(h, t);
  try {
    const t0 = performance.now();
    const load = await loadAll(h, nodes, "/webhook/moodle-events", ingestBody(), { "x-moodle-token": TOKEN });
    const pending = async () => ((await (await fetch(nodes[0]!.url + "/health")).json()) as any).recommender?.pending_events as number | undefined;
    const left = await pending();
    if (left === undefined) return { ...load, backlog: "recommender not running: logs stored, not processed", endToEnd: NaN };
    const tLoad = performance.now();
    let now = left;
    while (now > 0 && performance.now() - tLoad < 120_000) {
      await Bun.sleep(100);
      now = (await pending()) ?? 0;
    }
    const tEnd = performance.now();
    const stored = await storedLogs(t, nodes[0]!);
    const ms = Math.round(tEnd - tLoad);
    return {
      ...load,
      endToEnd: (stored - now) / ((tEnd - t0) / 1000),
      backlog: now === 0 ? `${left} logs unprocessed when the load stopped, processed in ${ms} ms` : `backlog NOT processed: ${now} of ${left} left after 120 s`,
    };
  } finally {
    for (const n of nodes) await n.stop();
  }
}

async function publish(h: BenchHarness, t: Target): Promise<LoadResult> {
  const nodes = await startNodes(h, t);
  try {
    return await loadAll(h, nodes, "/api/v1/events", PUBLISH_BODY, { authorization: `Bearer ${TOKEN}` });
  } finally {
    for (const n of nodes) await n.stop();
  }
}

/** EVENTS events published (64 in flight, spread over the nodes) to 4 subscribers: deliveries/s from the first publish to the last arrival. */
async function deliveries(h: BenchHarness, t: Target): Promise<number> {
  const rx = receiver();
  const paths = ["/a", "/b", "/c", "/d"];
  const subscribers = paths.map((p, i) => ({ id: `s${i}`, url: rx.url + p, secret: SECRET, events: ["*"], concurrency: 64, timeout_ms: 10_000 }));
  const nodes = await startNodes(h, t, { webhooks: { allow_private_targets: true, subscribers } });
  try {
    let next = 0;
    const t0 = now();
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        const node = nodes[w % nodes.length]!;
        while (next < EVENTS) {
          const i = next++;
          const r = await fetch(node.url + "/api/v1/events", {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify({ name: "bench.delivery", data: { i, pad: "x".repeat(200) } }),
          });
          await r.arrayBuffer();
          if (r.status !== 202) throw new Error(`publish answered ${r.status}`);
        }
      }),
    );
    const deadline = Date.now() + 180_000;
    while (paths.some((p) => (rx.counts.get(p) ?? 0) < EVENTS)) {
      if (Date.now() > deadline) throw new Error(`receiver got ${paths.map((p) => rx.counts.get(p) ?? 0).join(", ")} of ${EVENTS} each`);
      await Bun.sleep(20);
    }
    return (EVENTS * paths.length) / ((rx.last() - t0) / 1000);
  } finally {
    for (const n of nodes) await n.stop();
    rx.stop();
  }
}

const note = (r: LoadResult, extra = "") => [r.non2xx || r.errors ? `${r.non2xx} non-2xx, ${r.errors} errors` : "", extra].filter(Boolean).join("; ");

export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const sqlite: Target = { name: "sqlite", storage: { driver: "sqlite", durability: "full" }, nodes: 1 };
  const sIngest = await ingest(h, sqlite);
  const sPublish = await publish(h, sqlite);
  const sDeliver = await deliveries(h, sqlite);
  rows.push(
    { scenario: "sqlite (baseline of the pg rows)", target: "SQLite: POST /webhook/moodle-events, 100 new logs per request", rate: sIngest.rps * 100, unit: "logs/s", p50_ms: sIngest.p50, p99_ms: sIngest.p99, ratio: 1, note: note(sIngest, `${Math.round(sIngest.rps)} req/s; ${sIngest.backlog}`) },
    { scenario: "sqlite (baseline of the pg rows)", target: "SQLite: ingest + recommender processing, end to end (load start → backlog processed)", rate: sIngest.endToEnd, unit: "logs/s", ratio: 1 },
    { scenario: "sqlite (baseline of the pg rows)", target: "SQLite: POST /api/v1/events, a new id per request", rate: sPublish.rps, p50_ms: sPublish.p50, p99_ms: sPublish.p99, ratio: 1, note: note(sPublish) },
    { scenario: "sqlite (baseline of the pg rows)", target: `SQLite: ${EVENTS} events × 4 subscribers (signed, attempts recorded)`, rate: sDeliver, unit: "deliveries/s", ratio: 1 },
  );
  const why = pgUnavailable();
  if (why) return [...rows, { scenario: "postgres", target: "skipped", rate: NaN, note: why }];
  let cluster: PgCluster | null = null;
  try {
    cluster = await startPgCluster();
    // A fresh schema per measurement, so no run reads another's rows.
    let schemas = 0;
    const pg = (nodes: number): Target => ({ name: `postgres×${nodes}`, storage: { driver: "postgres", url: cluster!.url, schema: `bench_${++schemas}`, pool: 10 }, nodes });
    const measure = async <T>(what: string, f: () => Promise<T>): Promise<T | Error> => {
      try {
        return await f();
      } catch (err) {
        console.error(`postgres bench: ${what} failed: ${(err as Error).message}`);
        return err as Error;
      }
    };
    const pIngest = await measure("ingest", () => ingest(h, pg(1)));
    const pPublish = await measure("publish", () => publish(h, pg(1)));
    const pDeliver = await measure("deliveries", () => deliveries(h, pg(1)));
    const p2Ingest = await measure("ingest on 2 nodes", () => ingest(h, pg(2)));
    const p2Publish = await measure("publish on 2 nodes", () => publish(h, pg(2)));
    const p2Deliver = await measure("deliveries on 2 nodes", () => deliveries(h, pg(2)));
    const failed = (scenario: string, target: string, e: Error): BenchRow => ({ scenario, target, rate: NaN, note: `failed: ${e.message.slice(0, 160)}` });
    const vs1 = (two: number, one: number | Error) => (one instanceof Error ? "" : `${(two / one).toFixed(2)}× one PostgreSQL node`);
    const one = (x: LoadResult | Error) => (x instanceof Error ? x : x.rps);
    rows.push(
      pIngest instanceof Error
        ? failed("postgres", "ingest", pIngest)
        : { scenario: "postgres", target: "POST /webhook/moodle-events, 100 new logs per request", rate: pIngest.rps * 100, unit: "logs/s", p50_ms: pIngest.p50, p99_ms: pIngest.p99, ratio: pIngest.rps / sIngest.rps, goal: "≥ 0.5× SQLite", note: note(pIngest, `${Math.round(pIngest.rps)} req/s; ${pIngest.backlog}`) },
      pIngest instanceof Error
        ? failed("postgres", "ingest end to end", pIngest)
        : { scenario: "postgres", target: "ingest + recommender processing, end to end (load start → backlog processed)", rate: pIngest.endToEnd, unit: "logs/s", ratio: pIngest.endToEnd / sIngest.endToEnd, goal: "≥ 0.5× SQLite" },
      pPublish instanceof Error
        ? failed("postgres", "publish", pPublish)
        : { scenario: "postgres", target: "POST /api/v1/events, a new id per request", rate: pPublish.rps, p50_ms: pPublish.p50, p99_ms: pPublish.p99, ratio: pPublish.rps / sPublish.rps, goal: "≥ 0.5× SQLite", note: note(pPublish) },
      pDeliver instanceof Error
        ? failed("postgres", "deliveries", pDeliver)
        : { scenario: "postgres", target: `${EVENTS} events × 4 subscribers (signed, attempts recorded)`, rate: pDeliver, unit: "deliveries/s", ratio: pDeliver / sDeliver, goal: "≥ 0.5× SQLite" },
      p2Ingest instanceof Error
        ? failed("postgres ×2", "ingest", p2Ingest)
        : { scenario: "postgres ×2", target: "ingest, 100 new logs per request, half the connections on each node", rate: p2Ingest.rps * 100, unit: "logs/s", p50_ms: p2Ingest.p50, p99_ms: p2Ingest.p99, ratio: p2Ingest.rps / sIngest.rps, note: [vs1(p2Ingest.rps, one(pIngest)), note(p2Ingest), p2Ingest.backlog].filter(Boolean).join("; ") },
      p2Ingest instanceof Error
        ? failed("postgres ×2", "ingest end to end", p2Ingest)
        : { scenario: "postgres ×2", target: "ingest + recommender processing, end to end", rate: p2Ingest.endToEnd, unit: "logs/s", ratio: p2Ingest.endToEnd / sIngest.endToEnd, note: pIngest instanceof Error ? "" : `${(p2Ingest.endToEnd / pIngest.endToEnd).toFixed(2)}× one PostgreSQL node` },
      p2Publish instanceof Error
        ? failed("postgres ×2", "publish", p2Publish)
        : { scenario: "postgres ×2", target: "publish, half the connections on each node", rate: p2Publish.rps, p50_ms: p2Publish.p50, p99_ms: p2Publish.p99, ratio: p2Publish.rps / sPublish.rps, note: [vs1(p2Publish.rps, one(pPublish)), note(p2Publish)].filter(Boolean).join("; ") },
      p2Deliver instanceof Error
        ? failed("postgres ×2", "deliveries", p2Deliver)
        : { scenario: "postgres ×2", target: `${EVENTS} events × 4 subscribers, publishes spread over both nodes`, rate: p2Deliver, unit: "deliveries/s", ratio: p2Deliver / sDeliver, note: vs1(p2Deliver, pDeliver) },
    );
  } finally {
    await cluster?.stop();
  }
  return rows;
}
