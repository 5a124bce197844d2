// PostgreSQL only: an enqueue on one node wakes the workers of the others through LISTEN/NOTIFY,
// one notification per group commit (not one per job), and never wakes the sender twice.
import { afterAll, afterEach, expect, test } from "bun:test";
import type { PostgresDriver } from "../../src/store/driver/postgres";
import { waitFor } from "../helpers/ferry";
import { closeAll, pgReason, stopCluster, targets } from "./harness";

afterEach(closeAll);
afterAll(stopCluster);
const it = pgReason ? test.skip : test;
const pg = targets.find((t) => t.name === "postgres")!;

it("one NOTIFY per batch reaches the other node with every kind of the batch", async () => {
  const { driver, peer } = await pg.fresh();
  const a = driver as PostgresDriver;
  const b = (await peer()) as PostgresDriver;
  const heardA: string[][] = [];
  const heardB: string[][] = [];
  a.onJobsAvailable((k) => heardA.push(k));
  b.onJobsAvailable((k) => heardB.push(k));
  await Promise.all([a.ready(), b.ready()]);
  // 50 enqueues in one turn: one group commit, so one notification.
  await Promise.all(Array.from({ length: 50 }, (_, i) => a.enqueue([{ kind: i % 2 ? "odd" : "even", payload: i }], 5, Date.now())));
  await waitFor(() => heardB.length >= 1, 5000, "node b woken");
  await Bun.sleep(200); // would a second notification arrive?
  expect(b.notificationsReceived).toBe(1);
  expect(heardB.map((k) => [...k].sort())).toEqual([["even", "odd"]]);
  // The sender woke itself once after its commit, not again from its own NOTIFY.
  expect(a.notificationsReceived).toBe(0);
  expect(heardA.map((k) => [...k].sort())).toEqual([["even", "odd"]]);
});

it("a batch naming more kinds than a NOTIFY payload holds wakes every kind", async () => {
  const { driver, peer } = await pg.fresh();
  const b = (await peer()) as PostgresDriver;
  const heard: string[][] = [];
  b.onJobsAvailable((k) => heard.push(k));
  await b.ready();
  await Promise.all(Array.from({ length: 400 }, (_, i) => driver.enqueue([{ kind: `webhook:subscriber-with-a-long-name-${i}`, payload: i }], 5, Date.now())));
  await waitFor(() => heard.length >= 1, 5000, "node b woken");
  expect(heard).toEqual([["*"]]);
});
