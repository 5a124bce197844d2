// Two queue nodes (separate processes) on one PostgreSQL; one is SIGKILLed mid-load. Every job
// ends done exactly once (its onComplete effect is written once), the killed node's jobs are
// recovered by the survivor after their lease expires.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openDriver } from "../../src/store/driver/open";
import { BUN, waitFor } from "../helpers/ferry";
import { pgReason, startCluster, stopCluster } from "./harness";

const CHILD = join(import.meta.dir, "pg-worker-child.ts");
afterAll(stopCluster);

(pgReason ? test.skip : test)("a node killed with SIGKILL mid-load: its jobs are recovered by the other node; every effect lands once", async () => {
  const cluster = (await startCluster())!;
  const schema = "failover";
  const driver = await openDriver({ driver: "postgres", url: cluster.url, schema, pool: 2, nodeId: "test" });
  await driver.sql`CREATE TABLE runs (job_id bigint, node text, attempt int, phase text)`;
  const spawn = (node: string, ...extra: string[]) => Bun.spawn([BUN, CHILD, cluster.url, schema, node, "1000", ...extra], { stdout: "pipe", stderr: "inherit" });
  const ready = async (p: ReturnType<typeof spawn>) => {
    let out = "";
    for await (const chunk of p.stdout as ReadableStream<Uint8Array>) {
      out += new TextDecoder().decode(chunk);
      if (out.includes("ready")) return;
    }
    throw new Error("worker exited before it was ready");
  };
  // n1 freezes in every job it takes (holding their leases, heartbeating) until it is killed.
  const nodes = [spawn("n1", "hang"), spawn("n2")];
  try {
    await Promise.all(nodes.map(ready));
    const ids = (await driver.enqueue(Array.from({ length: 200 }, () => ({ kind: "task", payload: { sleepMs: 100 } })), 5, Date.now())).map((r) => r.id);
    // Kill n1 once all four of its slots hold a job.
    await waitFor(async () => Number((await driver.sql`SELECT count(*) AS n FROM runs WHERE node = 'n1' AND phase = 'start'`)[0]!.n) === 4, 15_000, "n1 holding 4 jobs");
    nodes[0]!.kill("SIGKILL");
    await nodes[0]!.exited;
    await waitFor(async () => (await driver.doneCount()) === ids.length, 30_000, "every job done");
    const ends = await driver.sql`SELECT job_id, count(*)::int AS n FROM runs WHERE phase = 'end' GROUP BY job_id`;
    expect(ends.length).toBe(ids.length);
    expect(ends.filter((r) => r.n !== 1)).toEqual([]);
    // The four jobs n1 held when it died were run again by n2 (a second attempt), after their lease.
    const held = await driver.sql`SELECT job_id FROM runs WHERE phase = 'start' AND node = 'n1'`;
    expect(held.length).toBe(4);
    for (const r of held) {
      const j = (await driver.getJob(r.job_id))!;
      expect([j.status, j.attempts]).toEqual(["done", 2]);
      const end = await driver.sql`SELECT node, attempt FROM runs WHERE job_id = ${r.job_id} AND phase = 'end'`;
      expect(end.map((e) => [e.node, e.attempt])).toEqual([["n2", 2]]);
    }
  } finally {
    for (const n of nodes) n.kill("SIGKILL");
    await driver.close();
  }
});
