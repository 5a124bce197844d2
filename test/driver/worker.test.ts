// The lease queue's workers (src/queue/worker.ts) on both drivers: the same Queue class, with the
// transaction-scoped hooks (enqueue in a caller's write, onComplete, onFail) in the driver's own
// transaction type. On PostgreSQL, two nodes share the work and wake each other by NOTIFY.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import pino from "pino";
import { Queue } from "../../src/queue";
import type { PgTx } from "../../src/store/postgres/client";
import type { PostgresDriver } from "../../src/store/driver/postgres";
import type { SqliteDriver } from "../../src/store/driver/sqlite";
import type { StoreDriver } from "../../src/store/driver/types";
import type { Db } from "../../src/store/sqlite";
import { waitFor } from "../helpers/ferry";
import { closeAll, pgReason, stopCluster, targets } from "./harness";

const log = pino({ level: "silent" });
const queues: Array<Queue<any>> = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.stop(100);
  await closeAll();
});
afterAll(stopCluster);

function queueOn<Tx>(driver: StoreDriver<Tx>) {
  const q = new Queue<Tx>(driver, { log, leaseMs: 5000 });
  queues.push(q);
  return q;
}

describe.each(targets)("Queue on the $name driver", (target) => {
  const it = target.unavailable ? test.skip : test;

  it("runs every job once to completion; onComplete writes commit with it, onFail with the failure", async () => {
    const { driver } = await target.fresh();
    const q = queueOn(driver as StoreDriver<any>);
    const effects: string[] = [];
    // The side table is written through the driver's own transaction type.
    const record =
      target.name === "sqlite"
        ? (tx: Db, what: string) => void tx.prepare("INSERT INTO effects (what) VALUES (?)").run(what)
        : (tx: PgTx, what: string) => tx`INSERT INTO effects (what) VALUES (${what})`.then(() => {});
    if (target.name === "sqlite") (driver as SqliteDriver).store.db.exec("CREATE TABLE effects (what TEXT)");
    else await (driver as PostgresDriver).sql`CREATE TABLE effects (what text)`;
    q.register<{ n: number; fail?: boolean }>("work", {
      concurrency: 3,
      maxAttempts: 1,
      handler: (job, ctx) => {
        if (job.payload.fail) throw new Error(`no ${job.payload.n}`);
        effects.push(`ran ${job.payload.n}`);
        ctx.onComplete((tx) => record(tx as never, `done ${job.payload.n}`));
        return job.payload.n * 2;
      },
      onFail: (tx, job, err, final) => record(tx as never, `failed ${job.payload.n} ${final} ${err.message}`),
    });
    q.start();
    await driver.enqueue(Array.from({ length: 20 }, (_, n) => ({ kind: "work", payload: { n, fail: n === 7 } })), 1, Date.now());
    await waitFor(async () => (await driver.doneCount()) === 19, 15_000, "19 done");
    await waitFor(async () => (await driver.depth()).work?.dead === 1, 5000, "1 dead");
    expect(effects.length).toBe(19);
    const stored =
      target.name === "sqlite"
        ? ((driver as SqliteDriver).store.db.prepare("SELECT what FROM effects").pluck().all() as string[])
        : (await (driver as PostgresDriver).sql`SELECT what FROM effects`).map((r) => r.what as string);
    expect(stored.filter((w) => w.startsWith("done")).length).toBe(19);
    expect(stored.filter((w) => w.startsWith("failed"))).toEqual(["failed 7 true no 7"]);
    // The counters move when each completion's promise settles, a turn after the commit that doneCount() sees.
    await waitFor(async () => q.outcomes().work!.done + q.outcomes().work!.dead === 20, 5000, "outcomes counted");
    expect(q.outcomes().work).toEqual({ done: 19, retry: 0, dead: 1, lost: 0 });
  });

  it("a job enqueued inside a caller's write runs once that write commits", async () => {
    const { driver } = await target.fresh();
    const q = queueOn(driver as StoreDriver<any>);
    const ran: number[] = [];
    q.register<number>("inner", { handler: (job) => void ran.push(job.payload) });
    q.start();
    if (target.name === "sqlite") {
      const d = driver as SqliteDriver;
      const out = await d.store.write((db) => (q as unknown as Queue<Db>).enqueue(db, { kind: "inner", payload: 41 }));
      expect(out.created).toBe(true);
    } else {
      const d = driver as PostgresDriver;
      const out = await d.write((tx) => (q as unknown as Queue<PgTx>).enqueue(tx, { kind: "inner", payload: 41 }));
      expect(out.created).toBe(true);
    }
    await waitFor(() => ran.length === 1, 5000, "job ran");
    expect(ran).toEqual([41]);
  });
});

describe("two nodes on one PostgreSQL", () => {
  const it = pgReason ? test.skip : test;
  const pg = targets.find((t) => t.name === "postgres")!;

  it("share the jobs without running any twice, and a node with no local enqueue is woken by NOTIFY", async () => {
    const { driver, peer } = await pg.fresh();
    const b = await peer();
    const runs = new Map<number, string[]>();
    const qa = queueOn(driver as StoreDriver<any>);
    const qb = queueOn(b as StoreDriver<any>);
    for (const [name, q] of [["a", qa], ["b", qb]] as const) {
      q.register("shared", {
        concurrency: 4,
        handler: async (job) => {
          runs.set(job.id, [...(runs.get(job.id) ?? []), name]);
          await Bun.sleep(2);
        },
      });
      q.start();
    }
    await Promise.all([(driver as PostgresDriver).ready(), (b as PostgresDriver).ready()]);
    // Only node a enqueues; node b has nothing to poll for it (no maintenance tick in this test).
    for (let i = 0; i < 10; i++) await driver.enqueue(Array.from({ length: 20 }, (_, n) => ({ kind: "shared", payload: { i, n } })), 5, Date.now());
    await waitFor(async () => (await driver.doneCount()) === 200, 20_000, "200 done");
    expect(runs.size).toBe(200);
    expect([...runs.values()].filter((r) => r.length !== 1)).toEqual([]);
    const byB = [...runs.values()].filter((r) => r[0] === "b").length;
    expect(byB).toBeGreaterThan(0); // b was woken by a's NOTIFYs and took part
    expect((b as PostgresDriver).notificationsReceived).toBeGreaterThan(0);
  });
});
