// The operator's CLI through real processes: check-config's summary and --json, the hint when no
// config exists, sample-config, `ferry status` against a running daemon (ok, degraded,
// unreachable), SIGHUP with restart-only keys, and the systemd files.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, parseConfig } from "../../src/config/load";
import { BUN, ROOT, ensureBinary, freePort, jsonRequest, spawnFerry, tempDir, waitFor } from "../helpers/ferry";

function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), ...args], { cwd: opts.cwd ?? tempDir(), env: { ...process.env, FERRY_CONFIG: "", ...(opts.env ?? {}) }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function yamlFile(text: string): string {
  const path = join(tempDir(), "config.yaml");
  writeFileSync(path, text);
  return path;
}

describe("check-config", () => {
  test("prints one readable line per part, warns about development tokens, never a secret", () => {
    const path = yamlFile(
      "auth: { api_tokens: [dev-api-token] }\nmoodle: { tokens: [m-s3cret-value] }\njobs: { secret: j-s3cret-value }\n" +
        "webhooks: { allowed_targets: [127.0.0.1], subscribers: [{ id: crm, url: 'http://127.0.0.1:9/x', secret: w-s3cret-value }] }\n",
    );
    const r = cli(["check-config", "--config", path]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(`ferry: ${path} is valid`);
    const part = (name: string) => lines.find((l) => l.trimStart().startsWith(name + " "))!;
    expect(part("server")).toContain("127.0.0.1:8000");
    expect(part("auth")).toContain("DEVELOPMENT default in use: set FERRY_API_TOKEN");
    expect(part("moodle")).toBe("  moodle       1 token");
    expect(part("webhooks")).toContain("1 of 1 subscriber active (crm); private targets refused except 127.0.0.1");
    expect(part("jobs")).toContain("must be signed");
    expect(part("bridge")).toContain("disabled");
    for (const s of ["m-s3cret-value", "j-s3cret-value", "w-s3cret-value"]) expect(r.stdout).not.toContain(s);
  });

  test("--json prints the effective config for machines, secrets masked", () => {
    const r = cli(["check-config", "--json", "--config", yamlFile("moodle: { tokens: [m-s3cret-value] }\n")]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(true);
    expect(out.config.server.port).toBe(8000);
    expect(out.config.moodle.tokens).toEqual(["***"]);
    expect(r.stdout).not.toContain("m-s3cret-value");
    expect(cli(["check-config", "--jsn"]).code).toBe(64);
  });

  test("a missing required key says required", () => {
    const r = cli(["check-config", "--config", yamlFile("webhooks: { subscribers: [{ url: 'http://x.example' }] }\n")]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("webhooks.subscribers[0].id: required");
  });
});

describe("no config file", () => {
  test("serve exits 78 with a hint: --config, FERRY_CONFIG, sample-config, the production example", () => {
    const r = cli(["serve"]);
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    for (const hint of ["no such file", "--config PATH", "FERRY_CONFIG", "ferry sample-config > config.yaml", "systemd/config.example.yaml"]) expect(r.stderr).toContain(hint);
  });

  test("sample-config writes the development config, which then serves", () => {
    const dir = tempDir();
    const r = cli(["sample-config"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, "config.yaml"), "utf8"));
    writeFileSync(join(dir, "config.yaml"), r.stdout);
    expect(cli(["check-config"], { cwd: dir }).code).toBe(0);
  });
});

test("the compiled binary in an empty directory: the same hint, and the embedded sample", async () => {
  const exe = await ensureBinary();
  const dir = tempDir();
  const env = { ...process.env, FERRY_CONFIG: "" };
  const r = Bun.spawnSync([exe], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(78);
  expect(r.stderr.toString()).toContain(`cannot read config file ${join(dir, "config.yaml")}: ENOENT (no such file). Pass --config PATH or set FERRY_CONFIG.`);
  const sample = Bun.spawnSync([exe, "sample-config"], { cwd: dir, env, stdout: "pipe" });
  expect(sample.stdout.toString()).toBe(readFileSync(join(ROOT, "config.yaml"), "utf8"));
  // The written sample serves, and the binary generates the API description and its page.
  const port = freePort();
  writeFileSync(join(dir, "config.yaml"), sample.stdout.toString().replace("port: 8000", `port: ${port}`));
  const ferry = await spawnFerry(join(dir, "config.yaml"), port, { binary: exe, cwd: dir });
  try {
    const spec = (await (await fetch(ferry.url + "/openapi.json")).json()) as any;
    expect(spec.paths["/api/v1/events"].post.requestBody.content["application/json"].schema.required).toContain("name");
    expect((await fetch(ferry.url + "/docs")).headers.get("content-type")).toContain("text/html");
  } finally {
    expect(await ferry.kill("SIGTERM")).toBe(0);
  }
}, 120_000);

describe("ferry status", () => {
  test("ok, then degraded with the part and the problem named, then unreachable", async () => {
    const dir = tempDir();
    const port = freePort();
    const closed = freePort(); // nothing listens here: deliveries fail
    const path = join(dir, "config.yaml");
    writeFileSync(
      path,
      `server: { port: ${port} }\nstorage: { path: ${dir}/f.db }\nlog: { level: silent }\n` +
        `webhooks: { allowed_targets: [127.0.0.1], subscribers: [{ id: down, url: 'http://127.0.0.1:${closed}/hook', retry: { max_attempts: 1 } }] }\n`,
    );
    const ferry = await spawnFerry(path, port, { source: true });
    try {
      const ok = cli(["status", "--config", path]);
      expect([ok.code, ok.stderr]).toEqual([0, ""]);
      const lines = ok.stdout.trim().split("\n");
      expect(lines[0]).toMatch(new RegExp(`^ferry \\S+ at http://127\\.0\\.0\\.1:${port}: OK \\(up \\d+s\\)$`));
      for (const part of ["database", "queue", "scheduler", "webhooks", "recommender", "bridge"]) {
        expect(lines.filter((l) => l.trimStart().startsWith(part + " "))).toHaveLength(1);
      }
      expect(lines.find((l) => l.trimStart().startsWith("bridge "))).toContain("off");
      // An operator's shell lacks the daemon's secrets: status reads only server.host/port.
      const prod = yamlFile(`server: { port: ${port} }\nauth: { api_tokens: ["\${SECRET_ONLY_THE_DAEMON_HAS}"] }\nbridge: { enabled: true }\n`);
      expect(cli(["check-config", "--config", prod]).code).toBe(78);
      const viaProd = cli(["status", "--config", prod]);
      expect([viaProd.code, viaProd.stdout.split("\n")[0]]).toEqual([0, lines[0]!.replace(/up \d+s/, viaProd.stdout.match(/up \d+s/)![0])]);

      const pub = await jsonRequest(ferry.url, "POST", "/api/v1/events", { token: "dev-api-token", body: { name: "a.b", data: {} } });
      expect(pub.status).toBe(202);
      await waitFor(async () => ((await (await fetch(ferry.url + "/health")).json()) as any).status === "degraded", 10_000, "health degraded");
      const health = (await (await fetch(ferry.url + "/health")).json()) as any;
      expect(health.webhooks.status).toBe("degraded");
      expect(health.problems).toContain("webhooks: degraded");
      // Deliveries are the webhook lease queue (not queue jobs): a dead one is a webhooks problem.
      expect(health.problems.some((p: string) => p.startsWith("webhooks: 1 dead delivery"))).toBe(true);

      const bad = cli(["status", "--config", path]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain(": DEGRADED (up");
      expect(bad.stdout).toMatch(/\n  webhooks +degraded +dead_deliveries 1, down degraded\n/);
      expect(bad.stdout).toContain("problems:\n  - ");
      const json = cli(["status", "--json", "--url", ferry.url]);
      expect(JSON.parse(json.stdout).status).toBe("degraded");
    } finally {
      expect(await ferry.kill("SIGTERM")).toBe(0);
    }
    const down = cli(["status", "--config", path]);
    expect(down.code).toBe(69);
    expect(down.stderr).toContain(`no answer from http://127.0.0.1:${port}/health`);
  }, 60_000);
});

test("SIGHUP with changed server.* / storage.* logs that a restart is needed and keeps running them; the rest applies", async () => {
  const dir = tempDir();
  const port = freePort();
  const path = join(dir, "config.yaml");
  const write = (token: string, limit: string, durability: string) =>
    writeFileSync(path, `server: { port: ${port}, body_limit: ${limit} }\nstorage: { path: ${dir}/f.db, durability: ${durability} }\nauth: { api_tokens: [${token}] }\nlog: { level: info }\n`);
  write("first-token", "1mb", "full");
  const ferry = await spawnFerry(path, port, { source: true });
  const config = async (token: string) => (await (await jsonRequest(ferry.url, "GET", "/api/v1/config", { token })).json()) as any;
  try {
    write("second-token", "2mb", "normal");
    ferry.proc.kill("SIGHUP");
    await waitFor(() => ferry.output().includes("config reloaded"), 5000, "reload");
    expect(ferry.output()).toContain("restart needed: server.body_limit, storage.durability changed in the config file");
    const running = await config("second-token"); // the token is reloadable
    expect(running.server.body_limit).toBe(1024 * 1024); // the running value, not the file's
    expect(running.storage.durability).toBe("full");
    // The running limit is what requests meet.
    const big = await jsonRequest(ferry.url, "POST", "/api/v1/events", { token: "second-token", body: { name: "a.b", data: { pad: "x".repeat(1_200_000) } } });
    expect(big.status).toBe(413);
  } finally {
    expect(await ferry.kill("SIGTERM")).toBe(0);
  }
}, 60_000);

describe("systemd", () => {
  const unit = readFileSync(join(ROOT, "systemd/ferry.service"), "utf8");
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  test("the example config puts the bridge's day files in the unit's LogsDirectory", () => {
    const c = loadConfig(join(ROOT, "systemd/config.example.yaml"), { FERRY_API_TOKEN: "a", FERRY_MOODLE_TOKEN: "b" });
    expect(unit).toMatch(/^LogsDirectory=ferry$/m);
    expect(c.bridge.log_dir).toBe("/var/log/ferry");
    expect(c.storage.path).toBe("/var/lib/ferry/ferry.db");
    expect(parseConfig({}).bridge.log_dir).toBe("./logs"); // the default stays relative for development
  });

  test("every Documentation= target exists: the file the install steps copy, and ferry's /docs", () => {
    const docs = unit.match(/^Documentation=(.+)$/m)![1]!.split(/\s+/);
    expect(docs.length).toBeGreaterThan(0);
    for (const uri of docs) {
      if (uri.startsWith("file://")) {
        const target = uri.slice("file://".length);
        expect(readme).toContain(`sudo install -D -m 0644 README.md ${target}`);
      } else {
        const u = new URL(uri);
        expect(u.port).toBe("8000"); // the example config's port
        expect(u.pathname).toBe("/docs");
      }
    }
  });
});
