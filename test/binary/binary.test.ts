import { expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinary, freePort, spawnFerry, tempDir } from "../helpers/ferry";

test("the compiled binary runs from an empty directory with no node_modules and answers /health", async () => {
  const dir = tempDir("ferry-bare-");
  const exe = join(dir, "ferry");
  copyFileSync(await ensureBinary(), exe);
  const port = freePort();
  writeFileSync(join(dir, "config.yaml"), `server: { port: ${port} }\nstorage: { path: ./data/ferry.db }\n`);
  expect(readdirSync(dir).sort()).toEqual(["config.yaml", "ferry"]);

  // No node_modules anywhere up the tree from the temp dir, and no Bun on PATH.
  const ferry = await spawnFerry(join(dir, "config.yaml"), port, { binary: exe, cwd: dir, env: { PATH: "/usr/bin:/bin", NODE_PATH: "" } });
  try {
    const r = await fetch(ferry.url + "/health");
    expect(r.status).toBe(200);
    const h = (await r.json()) as any;
    expect(h.database.ok).toBe(true);
    expect(h.database.schema_version).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dir, "data/ferry.db"))).toBe(true);
  } finally {
    expect(await ferry.kill("SIGTERM")).toBe(0); // graceful shutdown exits cleanly
  }
  expect(ferry.output()).toContain("ferry stopped");
});

test("the binary's CLI: version, check-config", async () => {
  const exe = await ensureBinary();
  const v = Bun.spawnSync([exe, "version"]);
  expect(v.exitCode).toBe(0);
  expect(v.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const dir = tempDir();
  writeFileSync(join(dir, "bad.yaml"), "storage: { durability: sometimes }\n");
  const c = Bun.spawnSync([exe, "check-config", "--config", join(dir, "bad.yaml")]);
  expect(c.exitCode).toBe(78);
  expect(c.stderr.toString()).toContain("storage.durability");
});
