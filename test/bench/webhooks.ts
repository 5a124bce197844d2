// Webhooks scenario: (0) a 20,000-event burst to one subscriber through ferry and through a
// BullMQ + Redis service (same load generator, same receiver, alternating rounds) with the
// harness ceiling; single-event publish against a bare Bun.serve; (1) delivery throughput with
// four subscribers; (2) publish → first attempt latency at a fixed 500 events/s; (3) three
// subscribers, one black-holed: the two healthy ones' throughput against all three healthy.
// The receivers and the load generator run in this process; ferry, the BullMQ service, Redis and
// the ceiling's forwarder are child processes (ferry at its default durability: fsync per commit).
// Part "pg": the same burst with ferry on SQLite and on PostgreSQL, alternating rounds.
import { join } from "node:path";
import { ROOT, type BenchHarness, type BenchRow } from "./harness";
import { redisAvailable, startRedis } from "./delivery/redis";
import { pgUnavailable, startPgCluster } from "../helpers/postgres";
import { writeFileSync } from "node:fs";

const TOKEN = "bench-token";
const now = () => performance.timeOrigin + performance.now();

interface Receiver {
  url: string;
  counts: Map<string, number>;
  last: Map<string, number>;
  latencies: number[];
  stop(): void;
}

function receiver(): Receiver {
  const counts = new Map<string, number>();
  const last = new Map<string, number>();
  const latencies: number[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const body = await req.text();
      counts.set(path, (counts.get(path) ?? 0) + 1);
      last.set(path, now());
      if (path === "/lat") latencies.push(now() - JSON.parse(body).data.sent_at);
      return new Response("ok");
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, counts, last, latencies, stop: () => server.stop(true) };
}

function blackHole(): { url: string; stop(): void } {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: () => new Promise<Response>(() => {}) });
  return { url: `http://127.0.0.1:${server.port}/hole`, stop: () => server.stop(true) };
}

const BUN = join(ROOT, "node_modules/.bin/bun");

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

/** A helper service of this bench (test/bench/delivery/*.ts) as a child process. */
async function spawnService(file: string, args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const port = freePort();
  const proc = Bun.spawn([BUN, join(import.meta.dir, "delivery", file), String(port), ...args], { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${file} exited with ${proc.exitCode}`);
    try {
      if ((await fetch(url + "/health")).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${file} did not start`);
    await Bun.sleep(50);
  }
  return { url, stop: async () => void (proc.kill("SIGTERM"), await proc.exited) };
}

const SECRET = "whsec_" + Buffer.from("bench-signing-key-32-bytes-long!").toString("base64");

const subscriber = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
  id,
  url,
  secret: SECRET,
  events: ["*"],
  concurrency: 64,
  timeout_ms: 10_000,
  ...extra,
});

/** Publishes `n` events with `conc` requests in flight; returns when all were accepted. */
async function publishBurst(url: string, n: number, conc: number, name = "bench.event"): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await fetch(url + "/api/v1/events", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ name, data: { i, pad: "x".repeat(200) } }),
      });
      if (r.status !== 202) throw new Error(`publish answered ${r.status}`);
      await r.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
}

async function waitCount(rx: Receiver, paths: string[], each: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (paths.some((p) => (rx.counts.get(p) ?? 0) < each)) {
    if (Date.now() > deadline) throw new Error(`receiver got ${paths.map((p) => `${p}=${rx.counts.get(p) ?? 0}`).join(", ")} of ${each}`);
    await Bun.sleep(20);
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Events fan out to `paths.length` subscribers; rate = deliveries / (last arrival − start). */
async function drain(h: BenchHarness, rx: Receiver, paths: string[], events: number, extraSubs: unknown[] = []) {
  const subs = paths.map((p, i) => subscriber(`s${i}`, rx.url + p));
  const ferry = await h.startFerry({ auth: { api_tokens: [TOKEN] }, webhooks: { allow_private_targets: true, subscribers: [...subs, ...extraSubs] } });
  for (const p of paths) rx.counts.set(p, 0);
  const t0 = now();
  await publishBurst(ferry.url, events, 64);
  await waitCount(rx, paths, events, 120_000);
  const end = Math.max(...paths.map((p) => rx.last.get(p)!));
  await ferry.stop();
  const perPath = paths.map((p) => events / ((rx.last.get(p)! - t0) / 1000));
  return { rate: (events * paths.length) / ((end - t0) / 1000), perPath };
}

/** One burst of `n` events through a hub at `url` to the receiver path; events/s from the first publish to the last arrival. */
async function burst(url: string, rx: Receiver, path: string, n: number): Promise<number> {
  rx.counts.set(path, 0);
  const t0 = now();
  await publishBurst(url, n, 64);
  await waitCount(rx, [path], n, 180_000);
  return n / ((rx.last.get(path)! - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** (0) The 20,000-event burst: ferry and BullMQ + Redis in alternating rounds, and the harness ceiling. */
async function versusBullmq(h: BenchHarness, rx: Receiver): Promise<BenchRow[]> {
  const n = Number(process.env.BENCH_BURST_EVENTS ?? 20_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const ferryRates: number[] = [];
  const bullRates: number[] = [];
  const noRedis = redisAvailable();
  const fw = await spawnService("forwarder.ts", [rx.url + "/ceiling"]);
  const ceiling = await burst(fw.url, rx, "/ceiling", n);
  await fw.stop();
  for (let r = 0; r < rounds; r++) {
    const ferry = await h.startFerry({ auth: { api_tokens: [TOKEN] }, webhooks: { allow_private_targets: true, subscribers: [subscriber("burst", rx.url + "/ferry")] } });
    ferryRates.push(await burst(ferry.url, rx, "/ferry", n));
    await ferry.stop();
    if (noRedis) continue;
    const redis = await startRedis(freePort());
    try {
      const bull = await spawnService("bullmq-service.ts", [String(redis.port), rx.url + "/bullmq", SECRET]);
      bullRates.push(await burst(bull.url, rx, "/bullmq", n));
      await bull.stop();
    } finally {
      await redis.stop();
    }
  }
  const f = median(ferryRates);
  const b = bullRates.length ? median(bullRates) : NaN;
  // Each round runs ferry then BullMQ back to back: the per-round ratio is the least noisy figure.
  const paired = bullRates.map((x, i) => ferryRates[i]! / x);
  const fmtList = (xs: number[]) => xs.map((x) => Math.round(x).toLocaleString("en-US")).join(", ");
  return [
    { scenario: "delivery burst", target: `harness ceiling: ${n} events, forwarder storing nothing → receiver`, rate: Math.round(ceiling), unit: "events/s" },
    {
      scenario: "delivery burst",
      target: `ferry: ${n} events → 1 subscriber (signed, attempts recorded, fsync per commit)`,
      rate: Math.round(f),
      unit: "events/s",
      goal: "≥ 8,000/s, ≥ 1.5× BullMQ",
      note: `rounds ${fmtList(ferryRates)}; ${Number.isNaN(b) ? "" : `${(f / b).toFixed(2)}× BullMQ (per round ${paired.map((r) => r.toFixed(2)).join(", ")}), `}${(f / ceiling).toFixed(2)}× ceiling`,
    },
    noRedis
      ? { scenario: "delivery burst", target: "BullMQ 6.7 + Redis: skipped", rate: NaN, note: noRedis }
      : {
          scenario: "delivery burst",
          target: `BullMQ 6.7 + Redis (AOF everysec): ${n} events → same receiver`,
          rate: Math.round(b),
          unit: "events/s",
          note: `rounds ${fmtList(bullRates)}`,
        },
  ];
}

/**
 * ferry on PostgreSQL as a child process (`bun src/main.ts serve`, or FERRY_BIN), ready once its
 * webhooks routes answer (until /health is ported, it is not the readiness check here).
 */
async function startPgFerry(h: BenchHarness, url: string, schema: string, config: Record<string, unknown>): Promise<{ url: string; stop(): Promise<void> }> {
  const port = freePort();
  const configPath = join(h.tmp(), "config.yaml");
  writeFileSync(configPath, JSON.stringify({ ...config, server: { host: "127.0.0.1", port }, storage: { driver: "postgres", url, schema, pool: 8 }, log: { level: "warn" } }));
  const cmd = process.env.FERRY_BIN ? [process.env.FERRY_BIN, "serve", "--config", configPath] : [BUN, join(ROOT, "src/main.ts"), "serve", "--config", configPath];
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ferry on PostgreSQL exited with ${proc.exitCode}`);
    const r = await fetch(base + "/api/v1/plugins", { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => null);
    if (r?.status === 200) break;
    if (Date.now() > deadline) throw new Error("ferry on PostgreSQL did not start");
    await Bun.sleep(50);
  }
  return { url: base, stop: async () => void (proc.kill("SIGTERM"), await proc.exited) };
}

/** The burst to one subscriber with ferry on SQLite and on PostgreSQL (a local throwaway cluster, fsync on), alternating, in the same run. */
async function sqliteVsPostgres(h: BenchHarness, rx: Receiver): Promise<BenchRow[]> {
  const why = pgUnavailable();
  if (why) return [{ scenario: "delivery burst", target: "ferry on PostgreSQL: skipped", rate: NaN, note: why }];
  const n = Number(process.env.BENCH_PG_BURST_EVENTS ?? 10_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const config = { auth: { api_tokens: [TOKEN] }, webhooks: { allow_private_targets: true, subscribers: [subscriber("burst", rx.url + "/pgcmp")] } };
  const cluster = await startPgCluster();
  const sqliteRates: number[] = [];
  const pgRates: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const lite = await h.startFerry(config);
      sqliteRates.push(await burst(lite.url, rx, "/pgcmp", n));
      await lite.stop();
      const pg = await startPgFerry(h, cluster.url, `bench_${r}`, config);
      pgRates.push(await burst(pg.url, rx, "/pgcmp", n));
      await pg.stop();
    }
  } finally {
    await cluster.stop();
  }
  const fmtList = (xs: number[]) => xs.map((x) => Math.round(x).toLocaleString("en-US")).join(", ");
  const paired = pgRates.map((x, i) => x / sqliteRates[i]!);
  return [
    { scenario: "delivery burst", target: `ferry on SQLite: ${n} events → 1 subscriber (same generator, alternating rounds)`, rate: Math.round(median(sqliteRates)), unit: "events/s", note: `rounds ${fmtList(sqliteRates)}` },
    {
      scenario: "delivery burst",
      target: `ferry on PostgreSQL (local, fsync on): ${n} events → 1 subscriber`,
      rate: Math.round(median(pgRates)),
      unit: "events/s",
      goal: "≥ 0.5× SQLite",
      note: `rounds ${fmtList(pgRates)}; per round ${paired.map((x) => x.toFixed(2)).join(", ")}× SQLite`,
    },
  ];
}

/** Single-event publish with unique ids against a bare Bun.serve, same generator, same run. */
async function publishVsBare(h: BenchHarness): Promise<BenchRow[]> {
  const body = JSON.stringify({ id: "evt___SEQ__", name: "attempt.submitted", context: { tenantId: "t1", userId: "u1" }, data: { attemptId: "a1", score: 85 } });
  const base = await h.baseline();
  const bare = await h.load({ url: base.url + "/publish", method: "POST", body });
  await base.stop();
  const ferry = await h.startFerry({ auth: { api_tokens: [TOKEN] } });
  const pub = await h.load({ url: ferry.url + "/api/v1/events", method: "POST", body, headers: { authorization: `Bearer ${TOKEN}` } });
  await ferry.stop();
  return [
    { scenario: "event publish", target: "bare Bun.serve POST → 202 (same body)", rate: Math.round(bare.rps), p50_ms: bare.p50, p99_ms: bare.p99, ratio: 1 },
    {
      scenario: "event publish",
      target: "POST /api/v1/events, a new id per request (fsync'd)",
      rate: Math.round(pub.rps),
      p50_ms: pub.p50,
      p99_ms: pub.p99,
      ratio: pub.rps / bare.rps,
      goal: "≥ 0.40×",
      note: pub.non2xx || pub.errors ? `${pub.non2xx} non-2xx, ${pub.errors} errors` : "",
    },
  ];
}

export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const rx = receiver();
  const events = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 4000);
  const only = process.env.BENCH_WEBHOOK_PARTS?.split(",");
  if (!only || only.includes("burst")) rows.push(...(await versusBullmq(h, rx)));
  if (!only || only.includes("publish")) rows.push(...(await publishVsBare(h)));
  if (!only || only.includes("pg")) rows.push(...(await sqliteVsPostgres(h, rx)));
  if (only && !only.includes("rest")) {
    rx.stop();
    return rows;
  }

  // (1) throughput: 4 subscribers on one receiver, each event → 4 signed deliveries.
  const t = await drain(h, rx, ["/a", "/b", "/c", "/d"], events);
  rows.push({
    scenario: "webhook deliveries",
    target: `${events} events × 4 subscribers → loopback 200 (signed, attempts recorded)`,
    rate: Math.round(t.rate),
    unit: "deliveries/s",
    goal: "≥ 5,000/s",
  });

  // (2) publish → first attempt latency at a fixed 500 events/s for the run duration.
  {
    const ferry = await h.startFerry({ auth: { api_tokens: [TOKEN] }, webhooks: { allow_private_targets: true, subscribers: [subscriber("lat", rx.url + "/lat")] } });
    rx.latencies.length = 0;
    const total = 500 * h.durationSec;
    const start = now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + i * 2;
      const wait = due - now();
      if (wait > 1) await Bun.sleep(wait);
      pending.push(
        fetch(ferry.url + "/api/v1/events", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({ name: "bench.latency", data: { sent_at: now() } }),
        }).then((r) => r.arrayBuffer()),
      );
    }
    await Promise.all(pending);
    await waitCount(rx, ["/lat"], total, 30_000);
    await ferry.stop();
    const sorted = [...rx.latencies].sort((a, b) => a - b);
    rows.push({
      scenario: "webhook latency",
      target: "POST /api/v1/events → receiver got the attempt, at 500 events/s",
      rate: 500,
      unit: "events/s",
      p50_ms: Math.round(pct(sorted, 50) * 100) / 100,
      p99_ms: Math.round(pct(sorted, 99) * 100) / 100,
      goal: "p99 ≤ 20 ms",
    });
  }

  // (3) isolation: two healthy subscribers with a third healthy, then with the third black-holed.
  const healthy = await drain(h, rx, ["/h1", "/h2", "/h3"], events);
  const hole = blackHole();
  const withHole = await drain(h, rx, ["/h1", "/h2"], events, [subscriber("hole", hole.url, { timeout_ms: 30_000 })]);
  hole.stop();
  const base = (healthy.perPath[0]! + healthy.perPath[1]!) / 2;
  const got = (withHole.perPath[0]! + withHole.perPath[1]!) / 2;
  rows.push({
    scenario: "webhook isolation",
    target: "2 healthy subscribers, third healthy (per-subscriber deliveries/s)",
    rate: Math.round(base),
    unit: "deliveries/s",
    ratio: 1,
  });
  rows.push({
    scenario: "webhook isolation",
    target: "2 healthy subscribers, third black-holed (never answers)",
    rate: Math.round(got),
    unit: "deliveries/s",
    ratio: Math.round((got / base) * 100) / 100,
    goal: "≥ 0.90",
  });
  rx.stop();
  return rows;
}
