// Benchmark harness: ferry and a bare Bun.serve baseline as child processes, driven by the same
// load generator (wrk when installed, else test/bench/loadgen.ts in its own process). Speed is
// reported as ratios measured in the same run, because these machines are shared and noisy.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");

export interface BenchRow {
  scenario: string;
  target: string;
  /** requests (or items) per second */
  rate: number;
  unit?: string;
  p50_ms?: number;
  p99_ms?: number;
  /** rate / baseline rate in the same run */
  ratio?: number;
  goal?: string;
  note?: string;
}

export interface LoadOptions {
  url: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  connections?: number;
  durationSec?: number;
  /** fixed total request rate (Bun generator only; wrk runs closed-loop). A body containing
   * "__SEQ__" gets a number unique to each request there. */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  tool: string;
}

export interface Running {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

async function waitHealthy(url: string, proc: Bun.Subprocess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await Bun.sleep(50);
  }
}

const hasWrk = Bun.spawnSync(["sh", "-c", "command -v wrk"]).exitCode === 0;

export class BenchHarness {
  readonly durationSec: number;
  readonly connections: number;
  readonly tool = hasWrk ? "wrk" : "bun-loadgen";
  private running: Running[] = [];

  constructor(opts: { durationSec?: number; connections?: number } = {}) {
    this.durationSec = opts.durationSec ?? Number(process.env.BENCH_DURATION ?? 5);
    this.connections = opts.connections ?? Number(process.env.BENCH_CONNECTIONS ?? 50);
  }

  tmp(): string {
    return mkdtempSync(join(tmpdir(), "ferry-bench-"));
  }

  /** Starts ferry (`bun src/main.ts serve`, or dist/ferry when FERRY_BIN is set) with this config. */
  async startFerry(config: Record<string, any> = {}): Promise<Running> {
    const dir = this.tmp();
    const port = freePort();
    const full = {
      ...config,
      server: { host: "127.0.0.1", ...(config.server ?? {}), port },
      storage: { path: join(dir, "ferry.db"), ...(config.storage ?? {}) },
      log: { level: "warn", ...(config.log ?? {}) },
    };
    const configPath = join(dir, "config.yaml");
    writeFileSync(configPath, JSON.stringify(full));
    const cmd = process.env.FERRY_BIN ? [process.env.FERRY_BIN, "serve", "--config", configPath] : [BUN, join(ROOT, "src/main.ts"), "serve", "--config", configPath];
    const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url + "/health", proc, "ferry");
    return this.track({ url, port, dir, stop: async () => void (proc.kill("SIGTERM"), await proc.exited) });
  }

  /** A bare Bun.serve answering 202 to POST and 200 to GET. */
  async baseline(): Promise<Running> {
    const port = freePort();
    const proc = Bun.spawn([BUN, join(import.meta.dir, "baseline-server.ts"), String(port)], { stdout: "ignore", stderr: "inherit" });
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, proc, "baseline");
    return this.track({ url, port, dir: "", stop: async () => void (proc.kill("SIGTERM"), await proc.exited) });
  }

  private track(r: Running): Running {
    this.running.push(r);
    const stop = r.stop;
    r.stop = async () => {
      this.running = this.running.filter((x) => x !== r);
      await stop();
    };
    return r;
  }

  async stopAll(): Promise<void> {
    for (const r of [...this.running]) await r.stop();
  }

  /** Drives one URL with the chosen generator, after a short unmeasured warm-up (JIT, caches) of the same load. */
  async load(o: LoadOptions): Promise<LoadResult> {
    if (!o.rate && !process.env.BENCH_NO_WARMUP) await this.measure({ ...o, durationSec: 1 });
    return this.measure(o);
  }

  private async measure(o: LoadOptions): Promise<LoadResult> {
    const connections = o.connections ?? this.connections;
    const duration = o.durationSec ?? this.durationSec;
    if (hasWrk && !o.rate) return this.wrk(o, connections, duration);
    const proc = Bun.spawn(
      [BUN, join(import.meta.dir, "loadgen.ts"), o.url, o.method ?? "GET", o.body ? Buffer.from(o.body).toString("base64") : "", JSON.stringify(o.headers ?? {}), String(connections), String(duration), String(o.rate ?? 0)],
      { stdout: "pipe", stderr: "inherit" },
    );
    const out = await new Response(proc.stdout).text();
    await proc.exited;
    return { ...JSON.parse(out.trim().split("\n").pop()!), tool: "bun-loadgen" };
  }

  private async wrk(o: LoadOptions, connections: number, duration: number): Promise<LoadResult> {
    const dir = this.tmp();
    const script = join(dir, "req.lua");
    const headers = { ...(o.headers ?? {}), ...(o.body ? { "content-type": o.headers?.["content-type"] ?? "application/json" } : {}) };
    writeFileSync(
      script,
      [
        `wrk.method = ${JSON.stringify(o.method ?? "GET")}`,
        o.body ? `wrk.body = ${luaString(o.body)}` : "",
        ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
        // Count non-2xx answers so a benchmark of errors cannot pass as throughput.
        `local bad = 0`,
        `function response(status, headers, body) if status >= 300 then bad = bad + 1 end end`,
        `function done(summary, latency, requests) io.write("NON2XX " .. bad .. "\\n") end`,
        // "__SEQ__" in the body becomes a number unique to each request (fresh data every time).
        o.body?.includes("__SEQ__")
          ? `local seq = 0\nlocal tid = 0\nfunction setup(t) tid = tid + 1; t:set("tid", tid) end\nfunction init() seq = tonumber(wrk.thread:get("tid")) * 1000000000000 + ${Math.floor(Math.random() * 1e6) * 1e6} end\nfunction request() seq = seq + 1; return wrk.format(nil, nil, nil, (string.gsub(wrk.body, "__SEQ__", tostring(seq)))) end`
          : "",
      ].join("\n"),
    );
    const threads = Math.min(2, connections);
    const proc = Bun.spawn(["wrk", "-t", String(threads), "-c", String(connections), "-d", `${duration}s`, "--latency", "-s", script, o.url], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(proc.stdout).text();
    await proc.exited;
    return parseWrk(out);
  }
}

function luaString(s: string): string {
  return "[==[" + s + "]==]";
}

function toMs(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

export function parseWrk(out: string): LoadResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/NON2XX (\d+)/.exec(out)?.[1] ?? 0);
  return { requests, rps, p50, p99, errors, non2xx, tool: "wrk" };
}

export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || Number.isNaN(n)) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function table(rows: BenchRow[]): string {
  const head = "| scenario | target | rate | p50 ms | p99 ms | ratio vs bare Bun.serve | goal | note |\n|---|---|---:|---:|---:|---:|---|---|";
  const body = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.target} | ${fmt(r.rate)} ${r.unit ?? "req/s"} | ${fmt(r.p50_ms, 2)} | ${fmt(r.p99_ms, 2)} | ${r.ratio === undefined ? "–" : fmt(r.ratio, 2) + "×"} | ${r.goal ?? ""} | ${r.note ?? ""} |`,
  );
  return [head, ...body].join("\n");
}
