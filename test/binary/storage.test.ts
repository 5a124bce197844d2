// Issue 10, findings 7, 9 and 10, through the compiled binary: a database file removed or
// replaced under a running ferry, a second process on the same database, and storage failures
// (lock contention, disk full, corrupt file) answered 503 + Retry-After — nothing acknowledged lost.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Database } from "../../src/store/sqlite";
import { ensureBinary, freePort, spawnFerry, tempDir, waitFor, type ChildFerry } from "../helpers/ferry";

const TOKEN = "test-api-token";
const running: ChildFerry[] = [];
afterAll(async () => {
  for (const f of running) if (f.proc.exitCode === null) await f.kill("SIGKILL");
});

function config(dir: string, port: number, extra: Record<string, unknown> = {}, dbPath = join(dir, "ferry.db")): string {
  const path = join(dir, `config-${port}.yaml`);
  writeFileSync(path, JSON.stringify({ server: { host: "127.0.0.1", port }, storage: { path: dbPath, ...extra }, auth: { api_tokens: [TOKEN] }, log: { level: "warn" } }));
  return path;
}

async function start(dir: string, extra: Record<string, unknown> = {}, dbPath?: string): Promise<ChildFerry> {
  const port = freePort();
  const f = await spawnFerry(config(dir, port, extra, dbPath), port);
  running.push(f);
  return f;
}

const publish = (f: ChildFerry, id: string, data: Record<string, unknown> = {}) =>
  fetch(f.url + "/api/v1/events", { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ id, name: "storage.test", data }) });

async function expect503(r: Response, reason: string): Promise<void> {
  expect(r.status).toBe(503);
  expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = (await r.json()) as { error: { code: string; message: string; details: { reason: string } } };
  expect(body.error.code).toBe("storage_unavailable");
  expect(body.error.details.reason).toBe(reason);
}

/** Runs the binary to completion (a start that must fail, or `ferry import`). */
async function runBinary(args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([await ensureBinary(), ...args], { stdout: "pipe", stderr: "pipe" });
  // A command that should have exited but keeps running (a second daemon that started) is a failure, not a hang.
  const guard = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  void proc.exited.then(() => clearTimeout(guard));
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out: out + err };
}

function storedIds(dbPath: string): Set<string> {
  const db = new Database(dbPath, { readonly: true });
  const ids = new Set(db.prepare("SELECT id FROM events").pluck().all() as string[]);
  db.close();
  return ids;
}

describe("finding 7: the database file removed or replaced under a running ferry", () => {
  test("rm ferry.db* → 503 + Retry-After and /health unavailable; a restart refuses to create an empty database", async () => {
    const dir = tempDir("ferry-rm-");
    const f = await start(dir);
    expect((await publish(f, "before-rm")).status).toBe(202);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, "ferry.db" + suffix), { force: true });
    await expect503(await publish(f, "after-rm"), "missing");
    const h = await fetch(f.url + "/health");
    expect(h.status).toBe(503);
    const health = (await h.json()) as any;
    expect(health.status).toBe("unavailable");
    expect(health.database.error).toContain("no longer exists");
    await f.kill("SIGKILL");

    const again = await runBinary(["serve", "--config", config(dir, freePort())]);
    expect(again.code).not.toBe(0);
    expect(again.out).toContain("is missing");
    expect(again.out).toContain(".ferry.db.created");
    expect(again.out).toContain("Restore the file");
    expect(existsSync(join(dir, "ferry.db"))).toBe(false); // nothing fresh was created

    // The operator's way out: delete the marker to start over deliberately.
    unlinkSync(join(dir, ".ferry.db.created"));
    const fresh = await start(dir);
    expect((await publish(fresh, "fresh")).status).toBe(202);
    await fresh.kill("SIGTERM");
  }, 60_000);

  test("only the -wal removed (it holds the latest commits) → 503 as well", async () => {
    const dir = tempDir("ferry-rmwal-");
    const f = await start(dir);
    expect((await publish(f, "one")).status).toBe(202);
    unlinkSync(join(dir, "ferry.db-wal"));
    await expect503(await publish(f, "two"), "missing");
    expect((await fetch(f.url + "/health")).status).toBe(503);
    await f.kill("SIGKILL");
  }, 60_000);

  test("a file moved over ferry.db (another inode) → 503 within a second, even without a write", async () => {
    const dir = tempDir("ferry-mv-");
    const f = await start(dir);
    expect((await publish(f, "one")).status).toBe(202);
    copyFileSync(join(dir, "ferry.db"), join(dir, "other.db"));
    renameSync(join(dir, "other.db"), join(dir, "ferry.db"));
    await waitFor(async () => (await fetch(f.url + "/health")).status === 503, 5000, "/health to report the replaced file");
    await expect503(await publish(f, "two"), "missing");
    await f.kill("SIGKILL");
  }, 60_000);
});

describe("finding 9: one ferry process per database", () => {
  test("a second serve exits non-zero naming the first's pid; ferry import refuses while it runs", async () => {
    const dir = tempDir("ferry-lock-");
    const first = await start(dir);
    const second = await runBinary(["serve", "--config", config(dir, freePort())]);
    expect(second.code).toBe(75);
    expect(second.out).toContain(`pid ${first.proc.pid}`);
    expect(second.out).toContain("ferry serve");

    const csv = join(dir, "logs.csv");
    writeFileSync(csv, "id,eventname,userid,courseid,timecreated\n1,\\core\\event\\course_viewed,5,2,1700000000\n");
    const imp = await runBinary(["import", csv, "--config", config(dir, freePort())]);
    expect(imp.code).toBe(75);
    expect(imp.out).toContain(`in use by ferry serve (pid ${first.proc.pid}`);
    expect(imp.out).toContain("Stop it first");
    expect((await publish(first, "still-fine")).status).toBe(202);

    // A SIGKILLed holder leaves no stale lock: the OS drops it with the process.
    await first.kill("SIGKILL");
    const after = await runBinary(["import", csv, "--config", config(dir, freePort())]);
    expect(after.out).toContain("1 new");
    expect(after.code).toBe(0);
  }, 60_000);
});

describe("finding 10: storage failures answer 503 + Retry-After, never 500", () => {
  test("lock contention (another process holds the write lock past busy_timeout) → 503, then 202 when released", async () => {
    const dir = tempDir("ferry-busy-");
    const f = await start(dir, { busy_timeout: "200ms" });
    expect((await publish(f, "a")).status).toBe(202);
    const other = new Database(join(dir, "ferry.db"), { timeout: 0 });
    other.exec("BEGIN IMMEDIATE");
    await expect503(await publish(f, "b"), "busy");
    other.exec("ROLLBACK");
    other.close();
    expect((await publish(f, "c")).status).toBe(202);
    await f.kill("SIGKILL");
    const ids = storedIds(join(dir, "ferry.db"));
    expect(ids.has("a") && ids.has("c")).toBe(true);
  }, 60_000);

  test("a corrupt file → 503 + Retry-After and /health unavailable", async () => {
    const dir = tempDir("ferry-corrupt-");
    const db = join(dir, "ferry.db");
    const f = await start(dir);
    for (let i = 0; i < 20; i++) expect((await publish(f, `e${i}`, { pad: "x".repeat(2000) })).status).toBe(202);
    // Move everything into the main file (from another connection, which also makes ferry drop its
    // page cache), then overwrite every page but the header page in place (same inode).
    const other = new Database(db);
    other.pragma("wal_checkpoint(TRUNCATE)");
    other.close();
    const size = statSync(db).size;
    const fd = openSync(db, "r+");
    writeSync(fd, Buffer.alloc(size - 4096, 0x5a), 0, size - 4096, 4096);
    closeSync(fd);
    await expect503(await publish(f, "after-corruption"), "corrupt");
    expect((await fetch(f.url + "/health")).status).toBe(503);
    await f.kill("SIGKILL");
  }, 60_000);

  test("disk full (a 6 MB tmpfs) → 503 + Retry-After; space back → 202; every 202 is on disk", async () => {
    const mnt = tempDir("ferry-tmpfs-");
    const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt]);
    if (mounted.exitCode !== 0) {
      console.log(`skipped: cannot mount a tmpfs (${mounted.stderr.toString().trim() || "not root"}); the disk-full case needs one`);
      return;
    }
    try {
      const dbPath = join(mnt, "data", "ferry.db");
      mkdirSync(join(mnt, "data"));
      const f = await start(tempDir("ferry-full-"), {}, dbPath);
      const acked: string[] = [];
      const statuses = new Set<number>();
      let i = 0;
      const pad = "y".repeat(20_000);
      // Fill the disk through ferry itself, until it refuses.
      for (; i < 1000; i++) {
        const r = await publish(f, `full-${i}`, { pad: pad + i });
        statuses.add(r.status);
        if (r.status === 202) acked.push(`full-${i}`);
        else {
          await expect503(r, "full");
          break;
        }
      }
      expect(statuses.has(500)).toBe(false);
      expect(acked.length).toBeGreaterThan(10);
      expect(i).toBeLessThan(1000);
      // Space comes back (the tmpfs grows, as when an operator frees space): writes succeed again.
      expect(Bun.spawnSync(["mount", "-o", "remount,size=64m", mnt]).exitCode).toBe(0);
      const back = await waitFor(async () => {
        const r = await publish(f, `back-${i}`);
        return r.status === 202 ? r : null;
      }, 10_000, "writes to succeed again");
      expect(back.status).toBe(202);
      acked.push(`back-${i}`);
      await f.kill("SIGKILL");
      const stored = storedIds(dbPath);
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  }, 120_000);
});
