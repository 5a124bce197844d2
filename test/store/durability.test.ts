import { expect, test } from "bun:test";
import { join } from "node:path";
import { openStore } from "../../src/store/db";
import { BUN, tempDir } from "../helpers/ferry";

const CHILD = join(import.meta.dir, "writer-child.ts");

test("every write acknowledged by the group commit survives a SIGKILL at a random moment", async () => {
  for (let round = 0; round < 3; round++) {
    const db = join(tempDir(), "durable.db");
    const proc = Bun.spawn([BUN, CHILD, db, "32"], { stdout: "pipe", stderr: "inherit" });
    let out = "";
    const reader = (async () => {
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += new TextDecoder().decode(chunk);
    })();
    // Wait for the first acks, then kill at a random moment while writes are in flight.
    while (!out.includes("\n")) await Bun.sleep(5);
    await Bun.sleep(100 + Math.random() * 400);
    proc.kill("SIGKILL");
    await proc.exited;
    await reader;
    const lines = out.split("\n");
    lines.pop(); // a line cut by the kill was never fully reported
    const acked = lines.filter(Boolean);
    expect(acked.length).toBeGreaterThan(100);

    const store = openStore({ path: db });
    const stored = new Set(store.db.prepare("SELECT id FROM acks").pluck().all() as string[]);
    store.close();
    const lost = acked.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(acked.length);
  }
});

test("a failing write rolls back alone; the others in its group commit", async () => {
  const store = openStore({ path: join(tempDir(), "savepoint.db") });
  store.db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const results = await Promise.allSettled([
    store.write((db) => db.prepare("INSERT INTO t VALUES (1, 'a')").run()),
    store.write((db) => {
      db.prepare("INSERT INTO t VALUES (2, 'b')").run();
      db.prepare("INSERT INTO t VALUES (3, NULL)").run(); // NOT NULL violation
    }),
    store.write((db) => db.prepare("INSERT INTO t VALUES (4, 'd')").run()),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(store.db.prepare("SELECT id FROM t ORDER BY id").pluck().all()).toEqual([1, 4]);
  expect(store.commits).toBe(1);
  store.close();
});
