// PostgreSQL going away under a node: writes fail with a storage-unavailable error (503 +
// Retry-After for a route, never a 500) and nothing is acknowledged; once the server is back the
// same driver writes again and LISTEN is re-established, so other nodes' enqueues wake it again.
import { afterAll, afterEach, expect, test } from "bun:test";
import pino from "pino";
import { Membership } from "../../src/cluster/membership";
import { ShardOwner } from "../../src/cluster/shards";
import { StoreUnavailableError } from "../../src/store/errors";
import type { PostgresDriver } from "../../src/store/driver/postgres";
import { waitFor } from "../helpers/ferry";
import { closeAll, pgReason, startCluster, stopCluster, targets } from "./harness";

afterEach(closeAll);
afterAll(stopCluster);
const pg = targets.find((t) => t.name === "postgres")!;

(pgReason ? test.skip : test)("the server down: writes fail as 'unavailable' and check() says so; back up: writes recover and LISTEN comes back", async () => {
  const cluster = (await startCluster())!;
  const { driver, peer } = await pg.fresh();
  const a = driver as PostgresDriver;
  const b = (await peer()) as PostgresDriver;
  const heard: string[][] = [];
  b.onJobsAvailable((k) => heard.push(k));
  await b.ready();

  await cluster.crash();
  let err: unknown = null;
  try {
    const started = Date.now();
    await a.enqueue([{ kind: "k", payload: 1 }], 5, Date.now()).then(
      () => {
        throw new Error("a write was acknowledged while the server was down");
      },
      (e) => (err = e),
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).retryAfterSeconds).toBe(5);
    expect((err as Error).message).toContain("the database server cannot be reached");
    expect((await a.check()).ok).toBe(false);
  } finally {
    await cluster.start();
  }
  // Then writes go through again (porsager reconnects), and b hears them once its LISTEN is back.
  await waitFor(async () => (await a.enqueue([{ kind: "after", payload: 2 }], 5, Date.now()).then(() => true, () => false)), 15_000, "writes again");
  await waitFor(async () => {
    await a.enqueue([{ kind: "after", payload: 3 }], 5, Date.now()).catch(() => {});
    return heard.some((k) => k.includes("after"));
  }, 15_000, "b woken after the reconnect");
  expect((await a.check()).ok).toBe(true);
});

(pgReason ? test.skip : test)("opening a driver on a server that is not there fails with the connection error, without hanging", async () => {
  const driver = (await (await import("../../src/store/driver/open")).openDriver({ driver: "postgres", url: "postgres://ferry@127.0.0.1:1/ferry", schema: "x", pool: 2, nodeId: "n" }).then(
    () => null,
    (e) => e,
  )) as Error | null;
  expect(driver).not.toBeNull();
  expect(String(driver!.message)).toMatch(/ECONNREFUSED|connect/i);
});

(pgReason ? test.skip : test)("a leader that cannot renew steps down and drops its shards at once; it leads again once the database is back", async () => {
  const cluster = (await startCluster())!;
  const { driver } = await pg.fresh();
  const log = pino({ level: "silent" });
  const clock = { now: () => Date.now() };
  const shards = new ShardOwner(driver, { nodeId: "a", shards: 8, ttlMs: 3000, clock, log });
  const m = new Membership(driver, { nodeId: "a", heartbeatMs: 60_000, ttlMs: 3000, clock, log, shards });
  await m.start();
  expect([m.isLeader, shards.ownedShards().length]).toEqual([true, 8]);
  await cluster.crash();
  try {
    await m.beat();
    expect(m.isLeader).toBe(false);
    expect(m.status().error).toBeTruthy();
    // The shards were not renewed either: a takeover by another node after the TTL must not
    // meet a node that still believes it owns them.
    expect(shards.ownedShards()).toEqual([]);
    expect(shards.epochOf(3)).toBeNull();
  } finally {
    await cluster.start();
  }
  await waitFor(async () => {
    await m.beat();
    return m.isLeader;
  }, 15_000, "leader again");
  expect(shards.ownedShards().length).toBe(8);
  expect(m.status().error).toBeUndefined();
  await m.stop();
});
