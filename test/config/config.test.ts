import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, interpolate, loadConfig, parseConfig } from "../../src/config/load";
import { BUN, ROOT, freePort, jsonRequest, spawnFerry, tempDir, waitFor } from "../helpers/ferry";

function writeYaml(text: string): string {
  const path = join(tempDir(), "config.yaml");
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.length ? err.problems : [err.message];
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  test("an empty file gives every documented default", () => {
    const c = loadConfig(writeYaml(""), {});
    expect(c.server).toEqual({ host: "127.0.0.1", port: 8000, body_limit: 1024 * 1024, shutdown_timeout: 10_000 });
    expect(c.storage.path).toBe("./data/ferry.db");
    expect(c.storage.durability).toBe("full");
    expect(c.recommender.snapshot_every).toBe(5 * 60_000);
    expect(c.queue.lease).toBe(30_000);
    expect(c.log.level).toBe("info");
  });

  test("the repository's config.yaml is valid and uses the development tokens only as env defaults", () => {
    const c = loadConfig(join(ROOT, "config.yaml"), {});
    expect(c.auth.api_tokens).toEqual(["dev-api-token"]);
    const prod = loadConfig(join(ROOT, "config.yaml"), { FERRY_API_TOKEN: "from-env", FERRY_MOODLE_TOKEN: "m-env" });
    expect(prod.auth.api_tokens).toEqual(["from-env"]);
    expect(prod.moodle.tokens).toEqual(["m-env"]);
  });

  test("${VAR} and ${VAR:-default} interpolation; an unset required variable is named", () => {
    expect(interpolate("a: ${X}\nb: ${Y:-fallback}\nc: ${Z:-}", { X: "1" })).toBe("a: 1\nb: fallback\nc: ");
    expect(() => interpolate("token: ${SECRET_TOKEN}", {})).toThrow("${SECRET_TOKEN} is not set");
  });

  test("errors name the key path and what was expected", () => {
    expect(problemsOf(() => parseConfig({ server: { port: "eighty" } }))).toEqual(["server.port: expected number, received string"]);
    expect(problemsOf(() => parseConfig({ server: { prot: 1 } }))).toEqual(['server: unknown key "prot"']);
    expect(problemsOf(() => parseConfig({ storage: { durability: "maybe" } }))[0]).toStartWith("storage.durability: ");
    expect(problemsOf(() => parseConfig({ storage: { durability: "maybe" } }))[0]).toContain('"full"');
    expect(problemsOf(() => parseConfig({ recommender: { snapshot_every: "soon" } }))[0]).toBe(
      'recommender.snapshot_every: expected a duration such as 500ms, 30s, 5m, 1h or 7d, got "soon"',
    );
    expect(problemsOf(() => parseConfig({ server: { body_limit: "huge" } }))[0]).toStartWith("server.body_limit: expected a size");
    expect(problemsOf(() => parseConfig({ surprise: true }))).toEqual(['(root): unknown key "surprise"']);
  });

  test("durations and sizes accept units", () => {
    const c = parseConfig({ server: { body_limit: "256kb", shutdown_timeout: "2s" }, queue: { lease: 1500 } });
    expect(c.server.body_limit).toBe(262_144);
    expect(c.server.shutdown_timeout).toBe(2000);
    expect(c.queue.lease).toBe(1500);
  });
});

function runCli(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), ...args], { cwd: tempDir(), env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("CLI", () => {
  test("check-config: valid file → 0 with secrets masked; each kind of error → its message and exit 78", () => {
    const ok = runCli(["check-config", "--config", writeYaml("auth: { api_tokens: [s3cret-token-value] }")]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("is valid");
    expect(ok.stdout).not.toContain("s3cret-token-value");

    const badType = runCli(["check-config", "--config", writeYaml("server: { port: high }")]);
    expect(badType.code).toBe(78);
    expect(badType.stderr).toContain("server.port: expected number, received string");

    const unknown = runCli(["check-config", "--config", writeYaml("server: { hots: 0.0.0.0 }")]);
    expect(unknown.code).toBe(78);
    expect(unknown.stderr).toContain('server: unknown key "hots"');

    const yaml = runCli(["check-config", "--config", writeYaml("server: [unclosed")]);
    expect(yaml.code).toBe(78);
    expect(yaml.stderr).toContain("not valid YAML");

    const missing = runCli(["check-config", "--config", "/nonexistent/ferry.yaml"]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain("cannot read config file /nonexistent/ferry.yaml: ENOENT");

    const env = runCli(["check-config", "--config", writeYaml("auth: { api_tokens: [\"${NEEDED_TOKEN}\"] }")]);
    expect(env.code).toBe(78);
    expect(env.stderr).toContain("${NEEDED_TOKEN} is not set");
    for (const r of [badType, unknown, yaml, missing, env]) expect(r.stderr.trim().split("\n").length).toBe(1);
  });

  test("FERRY_CONFIG selects the file when --config is absent", () => {
    const r = runCli(["check-config"], { FERRY_CONFIG: writeYaml("server: { port: nope }") });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("server.port");
  });

  test("port in use → exit 69; unwritable data dir → exit 73; unknown command → 64", async () => {
    const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    try {
      const dir = tempDir();
      const r = runCli(["serve", "--config", writeYaml(`server: { port: ${blocker.port} }\nstorage: { path: ${dir}/f.db }\nlog: { level: silent }`)]);
      expect(r.code).toBe(69);
      expect(r.stderr).toContain(`port ${blocker.port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.stop(true);
    }
    const file = join(tempDir(), "not-a-dir");
    writeFileSync(file, "x");
    const r2 = runCli(["serve", "--config", writeYaml(`server: { port: 0 }\nstorage: { path: ${file}/sub/f.db }\nlog: { level: silent }`)]);
    expect(r2.code).toBe(73);
    expect(r2.stderr).toContain("cannot create data directory");
    const r3 = runCli(["frobnicate"]);
    expect(r3.code).toBe(64);
    expect(r3.stderr).toContain('unknown command "frobnicate"');
  });

  test("version and --help", () => {
    expect(runCli(["version"]).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("check-config");
  });

  test("migrate applies the schema and is idempotent", () => {
    const dir = tempDir();
    const cfg = writeYaml(`storage: { path: ${dir}/m.db }`);
    const first = runCli(["migrate", "--config", cfg]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("applied migrations 1");
    const second = runCli(["migrate", "--config", cfg]);
    expect(second.stdout).toContain("schema is up to date");
  });
});

test("SIGHUP applies a valid new config and keeps the running one when the new file is broken", async () => {
  const dir = tempDir();
  const port = freePort();
  const path = join(dir, "config.yaml");
  const write = (token: string) => writeFileSync(path, `server: { port: ${port} }\nstorage: { path: ${dir}/f.db }\nauth: { api_tokens: [${token}] }\nlog: { level: info }\n`);
  write("first-token");
  const ferry = await spawnFerry(path, port);
  const status = async (token: string) => (await jsonRequest(ferry.url, "GET", "/api/v1/config", { token })).status;
  try {
    expect(await status("first-token")).toBe(200);
    write("second-token");
    ferry.proc.kill("SIGHUP");
    await waitFor(async () => (await status("second-token")) === 200, 5000, "new token active");
    expect(await status("first-token")).toBe(401);

    writeFileSync(path, "server: { port: [broken\n");
    ferry.proc.kill("SIGHUP");
    await waitFor(() => ferry.output().includes("config reload failed"), 5000, "reload failure logged");
    expect(await status("second-token")).toBe(200);
    expect((await fetch(ferry.url + "/health")).status).toBe(200);
    expect(ferry.output()).toContain("keeping the running config");
  } finally {
    expect(await ferry.kill("SIGTERM")).toBe(0);
  }
});
