// Test harness: a real ferry on 127.0.0.1 with a temp SQLite file, either in this process
// (Daemon.start) or as a child process (`bun src/main.ts serve`, or the compiled binary).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { Daemon } from "../../src/daemon";
import type { Clock } from "../../src/queue";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
/** Real payloads (copies of shared/fixtures; see test/fixtures/README.md). */
export const FIXTURES = join(ROOT, "test/fixtures");

export function tempDir(prefix = "ferry-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A config object written as YAML (JSON is valid YAML). Storage goes to `dir` unless given. */
export function writeConfig(dir: string, config: Record<string, any> = {}): string {
  const full = {
    ...config,
    server: { host: "127.0.0.1", port: 0, ...(config.server ?? {}) },
    storage: { path: join(dir, "ferry.db"), ...(config.storage ?? {}) },
    log: { level: process.env.FERRY_TEST_LOG ?? "silent", ...(config.log ?? {}) },
  };
  const path = join(dir, "config.yaml");
  writeFileSync(path, JSON.stringify(full, null, 2));
  return path;
}

export interface TestFerry {
  daemon: Daemon;
  url: string;
  dir: string;
  dbPath: string;
  configPath: string;
  stop(): Promise<void>;
  /** fetch against ferry with JSON body handling and optional bearer token. */
  request(method: string, path: string, opts?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<Response>;
}

/** Starts ferry in this process on an ephemeral port. */
export async function startFerry(config: Record<string, any> = {}, opts: { dir?: string; clock?: Clock } = {}): Promise<TestFerry> {
  const dir = opts.dir ?? tempDir();
  const configPath = writeConfig(dir, config);
  const daemon = await Daemon.start({
    configPath,
    clock: opts.clock,
    logDestination: process.env.FERRY_TEST_LOG ? undefined : pino.destination("/dev/null"),
  });
  const url = `http://127.0.0.1:${daemon.port}`;
  return {
    daemon,
    url,
    dir,
    dbPath: join(dir, "ferry.db"),
    configPath,
    stop: () => daemon.stop(),
    request: (method, path, o = {}) => jsonRequest(url, method, path, o),
  };
}

export function jsonRequest(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  return fetch(base + path, { method, headers, body });
}

export interface ChildFerry {
  proc: Bun.Subprocess;
  url: string;
  port: number;
  output(): string;
  kill(signal?: NodeJS.Signals | number): Promise<number>;
}

/** Picks a free TCP port on 127.0.0.1. */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

let binary: Promise<string> | null = null;

// Children still alive when the test run ends (a failed test skipped its cleanup) are killed,
// so no ferry outlives the suite.
const children = new Set<Bun.Subprocess>();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Compiles the current sources to a single binary once per test run (what `npm run build` makes). */
export function ensureBinary(): Promise<string> {
  binary ??= (async () => {
    const out = join(tempDir("ferry-bin-"), "ferry");
    const proc = Bun.spawn([BUN, "build", join(ROOT, "src/main.ts"), "--compile", "--outfile", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if ((await proc.exited) !== 0) throw new Error(`bun build --compile failed: ${await new Response(proc.stderr).text()}`);
    return out;
  })();
  return binary;
}

/**
 * Starts ferry as a child process and waits until /health is 200: by default the compiled
 * binary (crash tests run the real thing), or `bun src/main.ts` with `source: true`.
 * The config must name a fixed port (use freePort()).
 */
export async function spawnFerry(
  configPath: string,
  port: number,
  opts: { binary?: string; source?: boolean; args?: string[]; env?: Record<string, string>; cwd?: string } = {},
): Promise<ChildFerry> {
  const exe = opts.source ? null : (opts.binary ?? (await ensureBinary()));
  const cmd = exe ? [exe, "serve", "--config", configPath, ...(opts.args ?? [])] : [BUN, join(ROOT, "src/main.ts"), "serve", "--config", configPath, ...(opts.args ?? [])];
  let out = "";
  const proc = Bun.spawn(cmd, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...(opts.env ?? {}) }, stdout: "pipe", stderr: "pipe" });
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) out += new TextDecoder().decode(chunk);
  };
  void drain(proc.stdout as ReadableStream<Uint8Array>);
  void drain(proc.stderr as ReadableStream<Uint8Array>);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ferry exited with ${proc.exitCode}: ${out}`);
    try {
      const r = await fetch(url + "/health");
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`ferry did not become healthy: ${out}`);
    }
    await Bun.sleep(50);
  }
  return {
    proc,
    url,
    port,
    output: () => out,
    kill: async (signal = "SIGTERM") => {
      proc.kill(signal);
      return await proc.exited;
    },
  };
}

/** Polls `check` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
