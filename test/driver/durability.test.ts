// Group-commit durability on both drivers: a write is acknowledged only once committed, so every
// id the child printed before a SIGKILL at a random moment is in the database afterwards.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openDriver } from "../../src/store/driver/open";
import { BUN, tempDir } from "../helpers/ferry";
import { pgReason, startCluster, stopCluster } from "./harness";

const CHILD = join(import.meta.dir, "writer-child.ts");
afterAll(stopCluster);

async function killMidWrite(args: string[], kill?: () => Promise<void>): Promise<number[]> {
  const proc = Bun.spawn([BUN, CHILD, ...args], { stdout: "pipe", stderr: "inherit" });
  let out = "";
  const reader = (async () => {
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += new TextDecoder().decode(chunk);
  })();
  const started = Date.now();
  while (!out.includes("\n") && Date.now() - started < 20_000) await Bun.sleep(5);
  await Bun.sleep(150 + Math.random() * 400);
  if (kill) await kill(); // the database dies under the writer first
  proc.kill("SIGKILL");
  await proc.exited;
  await reader;
  const lines = out.split("\n");
  lines.pop(); // a line cut by the kill was never fully reported
  return lines.filter(Boolean).map(Number);
}

describe("group commit under SIGKILL", () => {
  test("sqlite: every acknowledged enqueue survives", async () => {
    for (let round = 0; round < 2; round++) {
      const path = join(tempDir(), "durable.db");
      const acked = await killMidWrite(["sqlite", path, "32"]);
      expect(acked.length).toBeGreaterThan(100);
      const driver = await openDriver({ driver: "sqlite", path });
      const missing: number[] = [];
      for (const id of acked) if (!(await driver.getJob(id))) missing.push(id);
      await driver.close();
      expect(missing).toEqual([]);
    }
  });

  (pgReason ? test.skip : test)("postgres: every acknowledged enqueue survives", async () => {
    const cluster = (await startCluster())!;
    for (let round = 0; round < 2; round++) {
      const schema = `durable${round}`;
      const acked = await killMidWrite(["postgres", cluster.url, schema, "32"]);
      expect(acked.length).toBeGreaterThan(100);
      const driver = await openDriver({ driver: "postgres", url: cluster.url, schema, pool: 2, nodeId: "check" });
      const stored = new Set((await (driver as import("../../src/store/driver/postgres").PostgresDriver).sql`SELECT id FROM jobs`).map((r) => r.id as number));
      await driver.close();
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      expect(stored.size).toBeGreaterThanOrEqual(acked.length);
    }
  });

  (pgReason ? test.skip : test)("postgres: every acknowledged enqueue survives a crash of the database server itself", async () => {
    const cluster = (await startCluster())!;
    const schema = "servercrash";
    const acked = await killMidWrite(["postgres", cluster.url, schema, "32"], () => cluster.crashAndRestart());
    expect(acked.length).toBeGreaterThan(100);
    const driver = await openDriver({ driver: "postgres", url: cluster.url, schema, pool: 2, nodeId: "check" });
    const stored = new Set((await (driver as import("../../src/store/driver/postgres").PostgresDriver).sql`SELECT id FROM jobs`).map((r) => r.id as number));
    await driver.close();
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  });
});
