// Webhooks scenario: (1) delivery throughput to a loopback receiver answering 200, with signing
// and attempt records; (2) publish → first attempt latency at a fixed 500 events/s; (3) three
// subscribers, one black-holed: the two healthy ones' throughput against all three healthy.
// The receivers run in this process; ferry is a child process (default durability: full).
import type { BenchHarness, BenchRow } from "./harness";

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

const subscriber = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
  id,
  url,
  secret: "whsec_" + Buffer.from("bench-signing-key-32-bytes-long!").toString("base64"),
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

export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const rx = receiver();
  const events = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 4000);

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
