// `ferry serve` on PostgreSQL against SQLite in the same run, through HTTP: Moodle ingest
// (100 new logs per request), publish (POST /api/v1/events, a new id each) and deliveries/s
// (a burst fanned out to 4 subscribers); then the same loads on 2 nodes against 1 on PostgreSQL.
// PostgreSQL is a throwaway local cluster (fsync and synchronous_commit on) on the same machine,
// SQLite runs at durability full: every 2xx on either side is after a durable commit. On 2 cores
// shared by ferry, the database server and the load generator, a second node shows the cost of
// coordination, not scale. The three targets run back to back per load, BENCH_ROUNDS times.
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

interface Sample {
  value: number;
  p50?: number;
  p99?: number;
  /** non-2xx answers, errors, the pipeline's backlog */
  note: string;
}
interface Metric {
  target: string;
  unit: string;
}
interface Kind {
  name: string;
  metrics: Metric[];
  /** One run of the load on a target, reduced to one sample per metric. */
  run(h: BenchHarness, t: Target): Promise<Sample[]>;
}

const problems = (r: LoadResult) => (r.non2xx || r.errors ? `${r.non2xx} non-2xx, ${r.errors} errors` : "");

const KINDS: Kind[] = [
  {
    name: "ingest",
    metrics: [
      { target: "POST /webhook/moodle-events, 100 new logs per request", unit: "logs/s" },
      { target: "ingest + recommender processing, end to end (load start → backlog processed)", unit: "logs/s" },
    ],
    async run(h, t) {
      const r = await ingest(h, t);
      return [
        { value: r.rps * 100, p50: r.p50, p99: r.p99, note: [problems(r), `${Math.round(r.rps)} req/s`, r.backlog].filter(Boolean).join("; ") },
        { value: r.endToEnd, note: "" },
      ];
    },
  },
  {
    name: "publish",
    metrics: [{ target: "POST /api/v1/events, a new id per request", unit: "req/s" }],
    async run(h, t) {
      const r = await publish(h, t);
      return [{ value: r.rps, p50: r.p50, p99: r.p99, note: problems(r) }];
    },
  },
  {
    name: "deliveries",
    metrics: [{ target: `${EVENTS} events × 4 subscribers (signed, attempts recorded)`, unit: "deliveries/s" }],
    async run(h, t) {
      return [{ value: await deliveries(h, t), note: "" }];
    },
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios = (xs: number[], ys: number[]) => xs.map((x, i) => (x / ys[i]!).toFixed(2)).join(", ");

/**
 * Every load runs on SQLite, on one PostgreSQL node and on two, back to back, for BENCH_ROUNDS
 * rounds (default 1); rows give the median and the per-round ratios (each against the same round's baseline).
 */
export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  const why = pgUnavailable();
  if (why) console.error(`postgres bench: PostgreSQL rows skipped: ${why}`);
  let cluster: PgCluster | null = why ? null : await startPgCluster();
  const rows: BenchRow[] = [];
  try {
    // A fresh schema per measurement, so no run reads another's rows.
    let schemas = 0;
    const sqlite: Target = { name: "sqlite", storage: { driver: "sqlite", durability: "full" }, nodes: 1 };
    const pg = (nodes: number): Target => ({ name: `postgres×${nodes}`, storage: { driver: "postgres", url: cluster!.url, schema: `bench_${++schemas}`, pool: 10 }, nodes });
    for (const kind of KINDS) {
      const got: Record<"s" | "p1" | "p2", Sample[][]> = { s: [], p1: [], p2: [] };
      const failures: string[] = [];
      for (let r = 0; r < rounds; r++) {
        got.s.push(await kind.run(h, sqlite));
        if (!cluster) continue;
        for (const [key, nodes] of [["p1", 1], ["p2", 2]] as const) {
          try {
            got[key].push(await kind.run(h, pg(nodes)));
          } catch (err) {
            failures.push(`${kind.name} on ${nodes} PostgreSQL node(s): ${(err as Error).message.slice(0, 160)}`);
            console.error(`postgres bench: ${failures.at(-1)}`);
          }
        }
      }
      kind.metrics.forEach((m, i) => {
        const s = got.s.map((x) => x[i]!.value);
        const p1 = got.p1.map((x) => x[i]!.value);
        const p2 = got.p2.map((x) => x[i]!.value);
        const pick = (samples: Sample[][], values: number[]) => samples.map((x) => x[i]!).find((x) => x.value === median(values))!;
        const row = (scenario: string, samples: Sample[][], values: number[], ratio: number, note: string, goal?: string): BenchRow => {
          const mid = pick(samples, values);
          return { scenario, target: m.target, rate: median(values), unit: m.unit, p50_ms: mid.p50, p99_ms: mid.p99, ratio, goal, note: [note, mid.note].filter(Boolean).join("; ") };
        };
        rows.push(row("sqlite (baseline)", got.s, s, 1, rounds > 1 ? `rounds ${s.map((x) => Math.round(x).toLocaleString("en-US")).join(", ")}` : ""));
        if (!cluster) return;
        if (p1.length === rounds) rows.push(row("postgres", got.p1, p1, median(p1) / median(s), rounds > 1 ? `per round ${ratios(p1, s)}× SQLite` : "", "≥ 0.5× SQLite"));
        if (p2.length === rounds && p1.length === rounds) rows.push(row("postgres ×2", got.p2, p2, median(p2) / median(s), `${(median(p2) / median(p1)).toFixed(2)}× one PostgreSQL node${rounds > 1 ? ` (per round ${ratios(p2, p1)})` : ""}`));
      });
      for (const f of failures) rows.push({ scenario: "postgres", target: kind.name, rate: NaN, note: `failed: ${f}` });
    }
    if (why) rows.push({ scenario: "postgres", target: "skipped", rate: NaN, note: why });
  } finally {
    await cluster?.stop();
    cluster = null;
  }
  return rows;
}
