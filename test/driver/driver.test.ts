// The shared driver suite (River's riverdrivertest): every queue and store behaviour, the same
// assertions against the SQLite and the PostgreSQL driver.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { StoreDriver } from "../../src/store/driver/types";
import { closeAll, stopCluster, targets } from "./harness";

afterEach(closeAll);
afterAll(stopCluster);

const T0 = 1_800_000_000_000;

describe.each(targets)("$name driver", (target) => {
  const it = target.unavailable ? test.skip : test;

  async function seed(d: StoreDriver, n: number, kind = "task", at = T0) {
    return (await d.enqueue(Array.from({ length: n }, (_, i) => ({ kind, payload: { i } , runAt: at + i })), 5, at)).map((r) => r.id);
  }

  it("migrate is idempotent: a second run applies nothing", async () => {
    const { driver } = await target.fresh();
    expect(await driver.migrate()).toEqual([]);
  });

  it("enqueue stores the payload as JSON and a repeated dedupe key returns the first job", async () => {
    const { driver } = await target.fresh();
    const [a] = await driver.enqueue([{ kind: "k", payload: { x: 1 }, dedupeKey: "once" }], 5, T0);
    const [b] = await driver.enqueue([{ kind: "k", payload: { x: 2 }, dedupeKey: "once" }], 5, T0 + 1);
    expect(a!.created).toBe(true);
    expect(b).toEqual({ id: a!.id, created: false });
    const row = (await driver.getJob(a!.id))!;
    expect(JSON.parse(row.payload)).toEqual({ x: 1 });
    expect(row.status).toBe("queued");
    expect(row.max_attempts).toBe(5);
    expect(row.run_at).toBe(T0);
    expect(await driver.getJob(a!.id + 1000)).toBeUndefined();
  });

  it("claim takes due jobs of one kind in run_at order, up to the limit, under one fresh lease", async () => {
    const { driver } = await target.fresh();
    const ids = await seed(driver, 5);
    await seed(driver, 2, "other");
    const [future] = await driver.enqueue([{ kind: "task", payload: {}, runAt: T0 + 60_000 }], 5, T0);
    const first = await driver.claim("task", 3, 1000, T0 + 10);
    expect(first.jobs.map((j) => j.id)).toEqual(ids.slice(0, 3));
    expect(first.jobs.every((j) => j.status === "running" && j.attempts === 1 && j.lease_until === T0 + 1010)).toBe(true);
    expect(new Set(first.jobs.map((j) => j.lease_token)).size).toBe(1);
    expect(first.nextDueAt).toBeNull(); // the batch was full: no look-ahead needed
    const rest = await driver.claim("task", 10, 1000, T0 + 10);
    expect(rest.jobs.map((j) => j.id)).toEqual(ids.slice(3));
    expect(rest.nextDueAt).toBe(T0 + 60_000); // the future job is not due yet, but is next
    expect((await driver.getJob(future!.id))!.status).toBe("queued");
    expect((await driver.claim("task", 0, 1000, T0)).jobs).toEqual([]);
  });

  it("two nodes claiming concurrently never get the same job, and together get all of them", async () => {
    const { driver, peer } = await target.fresh();
    const other = await peer();
    const ids = await seed(driver, 300);
    const got: number[][] = [[], []];
    await Promise.all(
      [driver, other].map(async (d, n) => {
        for (;;) {
          const batch = await d.claim("task", 7, 30_000, T0 + 1000);
          if (!batch.jobs.length) return;
          got[n]!.push(...batch.jobs.map((j) => j.id));
        }
      }),
    );
    const all = [...got[0]!, ...got[1]!];
    expect(all.length).toBe(ids.length);
    expect(new Set(all).size).toBe(ids.length);
  });

  it("complete is set-based: one answer per item, false where the lease was lost", async () => {
    const { driver } = await target.fresh();
    await seed(driver, 3);
    const { jobs } = await driver.claim("task", 3, 1000, T0 + 5);
    const [a, b, c] = jobs;
    const out = await driver.complete(
      [
        { id: a!.id, token: a!.lease_token!, result: { ok: 1 } },
        { id: b!.id, token: b!.lease_token! },
        { id: c!.id, token: "not-the-lease" },
      ],
      T0 + 20,
    );
    expect(out).toEqual([true, true, false]);
    const ra = (await driver.getJob(a!.id))!;
    expect([ra.status, JSON.parse(ra.result!), ra.finished_at, ra.lease_token]).toEqual(["done", { ok: 1 }, T0 + 20, null]);
    expect((await driver.getJob(b!.id))!.result).toBeNull();
    expect((await driver.getJob(c!.id))!.status).toBe("running");
    // A second completion of a finished job changes nothing.
    expect(await driver.complete([{ id: a!.id, token: a!.lease_token! }], T0 + 30)).toEqual([false]);
  });

  it("fail schedules a retry or buries the job; a lost lease records nothing", async () => {
    const { driver } = await target.fresh();
    await seed(driver, 3);
    const { jobs } = await driver.claim("task", 3, 1000, T0 + 5);
    const [a, b, c] = jobs;
    const out = await driver.fail(
      [
        { id: a!.id, token: a!.lease_token!, error: "boom", retryAt: T0 + 5000 },
        { id: b!.id, token: b!.lease_token!, error: "x".repeat(3000), retryAt: null },
        { id: c!.id, token: "stale", error: "late", retryAt: T0 },
      ],
      T0 + 10,
    );
    expect(out).toEqual([true, true, false]);
    const ra = (await driver.getJob(a!.id))!;
    expect([ra.status, ra.run_at, ra.last_error, ra.lease_token, ra.finished_at]).toEqual(["retry", T0 + 5000, "boom", null, null]);
    const rb = (await driver.getJob(b!.id))!;
    expect([rb.status, rb.finished_at, rb.last_error!.length]).toEqual(["dead", T0 + 10, 2000]);
    expect((await driver.claim("task", 5, 1000, T0 + 4999)).jobs.length).toBe(0); // the retry is not due yet
    expect((await driver.claim("task", 5, 1000, T0 + 5000)).jobs.map((j) => [j.id, j.attempts])).toEqual([[a!.id, 2]]);
  });

  it("heartbeat extends a held lease only", async () => {
    const { driver } = await target.fresh();
    await seed(driver, 2);
    const { jobs } = await driver.claim("task", 2, 1000, T0 + 10);
    expect(await driver.heartbeat([{ id: jobs[0]!.id, token: jobs[0]!.lease_token! }, { id: jobs[1]!.id, token: "stale" }], 5000, T0 + 900)).toEqual([true, false]);
    expect((await driver.getJob(jobs[0]!.id))!.lease_until).toBe(T0 + 5900);
    expect((await driver.getJob(jobs[1]!.id))!.lease_until).toBe(T0 + 1010);
  });

  it("recoverExpired makes expired leases due again, or dead once the attempts are spent", async () => {
    const { driver } = await target.fresh();
    const [a] = await driver.enqueue([{ kind: "task", payload: {}, runAt: T0 }], 5, T0);
    const [b] = await driver.enqueue([{ kind: "other", payload: {}, runAt: T0, maxAttempts: 1 }], 5, T0);
    await driver.claim("task", 1, 1000, T0);
    await driver.claim("other", 1, 5000, T0);
    expect(await driver.recoverExpired(T0 + 1001)).toEqual(["task"]); // "other" still holds its lease
    const ra = (await driver.getJob(a!.id))!;
    expect([ra.status, ra.lease_token, ra.last_error]).toEqual(["retry", null, "lease expired (worker stopped or crashed)"]);
    expect(await driver.recoverExpired(T0 + 6000)).toEqual(["other"]);
    const rb = (await driver.getJob(b!.id))!;
    expect([rb.status, rb.finished_at]).toEqual(["dead", T0 + 6000]);
    expect(await driver.recoverExpired(T0 + 7000)).toEqual([]);
  });

  it("release gives a running job back without counting the interrupted attempt", async () => {
    const { driver } = await target.fresh();
    await seed(driver, 1);
    const { jobs } = await driver.claim("task", 1, 1000, T0);
    expect(await driver.release([{ id: jobs[0]!.id, token: "stale" }], T0 + 1)).toBe(0);
    expect(await driver.release([{ id: jobs[0]!.id, token: jobs[0]!.lease_token! }], T0 + 2)).toBe(1);
    const r = (await driver.getJob(jobs[0]!.id))!;
    expect([r.status, r.attempts, r.run_at, r.lease_token]).toEqual(["queued", 0, T0 + 2, null]);
  });

  it("replay puts dead jobs back with a fresh attempt budget, one or a whole kind", async () => {
    const { driver } = await target.fresh();
    await seed(driver, 3);
    const { jobs } = await driver.claim("task", 3, 1000, T0 + 10);
    await driver.fail(jobs.map((j) => ({ id: j.id, token: j.lease_token!, error: "no", retryAt: null })), T0 + 1);
    expect(await driver.replay(jobs[0]!.id, T0 + 2)).toBe("task");
    expect(await driver.replay(jobs[0]!.id, T0 + 3)).toBeNull(); // not dead any more
    expect(await driver.replayKind("task", T0 + 4)).toEqual([jobs[1]!.id, jobs[2]!.id]);
    const r = (await driver.getJob(jobs[2]!.id))!;
    expect([r.status, r.attempts, r.finished_at, r.run_at]).toEqual(["queued", 0, null, T0 + 4]);
  });

  it("depth counts per kind and status; deleteFinished removes old done jobs in bounded batches", async () => {
    const { driver } = await target.fresh();
    await seed(driver, 6);
    await seed(driver, 1, "other");
    const { jobs } = await driver.claim("task", 5, 1000, T0 + 100);
    await driver.complete(jobs.slice(0, 3).map((j) => ({ id: j.id, token: j.lease_token! })), T0 + 200);
    await driver.fail([{ id: jobs[3]!.id, token: jobs[3]!.lease_token!, error: "x", retryAt: null }], T0 + 200);
    expect(await driver.depth()).toEqual({ task: { queued: 1, running: 1, retry: 0, dead: 1 }, other: { queued: 1, running: 0, retry: 0, dead: 0 } });
    expect(await driver.depth("other")).toEqual({ other: { queued: 1, running: 0, retry: 0, dead: 0 } });
    expect(await driver.doneCount()).toBe(3);
    expect(await driver.deleteFinished(T0 + 200, 10)).toBe(0); // finished at T0+200: not older
    expect(await driver.deleteFinished(T0 + 201, 2)).toBe(2);
    expect(await driver.deleteFinished(T0 + 201, 2)).toBe(1);
    expect(await driver.doneCount()).toBe(0);
  });

  it("leader election: one holder until its TTL lapses, renewal keeps it, re-election by upsert", async () => {
    const { driver, peer } = await target.fresh();
    const other = await peer();
    expect(await driver.electLeader("maintenance", "a", 1000, T0)).toBe(true);
    expect(await other.electLeader("maintenance", "b", 1000, T0 + 10)).toBe(false);
    expect(await driver.electLeader("maintenance", "a", 1000, T0 + 900)).toBe(true); // renewed to T0+1900
    expect(await other.electLeader("maintenance", "b", 1000, T0 + 1500)).toBe(false);
    expect(await other.leader("maintenance", T0 + 1500)).toEqual({ name: "maintenance", node_id: "a", elected_at: T0, expires_at: T0 + 1900 });
    expect(await other.electLeader("maintenance", "b", 1000, T0 + 1901)).toBe(true); // a stopped renewing
    expect(await driver.electLeader("maintenance", "a", 1000, T0 + 1902)).toBe(false);
    expect((await driver.leader("maintenance", T0 + 1902))!.node_id).toBe("b");
    expect(await driver.leader("maintenance", T0 + 5000)).toBeNull(); // expired, nobody renewed
    await other.resignLeader("maintenance", "b");
    expect(await driver.electLeader("maintenance", "a", 1000, T0 + 2000)).toBe(true); // resigning frees it at once
  });

  it("node heartbeats: upserted per node, listed while fresh", async () => {
    const { driver, peer } = await target.fresh();
    const other = await peer();
    await driver.touchNode("a", T0, T0, { url: "http://a" });
    await other.touchNode("b", T0 + 5, T0 + 5, {});
    await driver.touchNode("a", T0, T0 + 1000, { url: "http://a2" });
    expect(await other.nodesSeenSince(T0)).toEqual([
      { node_id: "a", started_at: T0, seen_at: T0 + 1000, info: '{"url":"http://a2"}' },
      { node_id: "b", started_at: T0 + 5, seen_at: T0 + 5, info: "{}" },
    ]);
    expect((await driver.nodesSeenSince(T0 + 6)).map((n) => n.node_id)).toEqual(["a"]); // b went quiet
  });

  it("shard leases: taken when free, renewed at the same epoch, taken over only after expiry or release with epoch + 1", async () => {
    const { driver, peer } = await target.fresh();
    const other = await peer();
    expect(await driver.acquireShards([0, 1, 2], "a", 1000, T0)).toEqual([{ shard: 0, epoch: 1 }, { shard: 1, epoch: 1 }, { shard: 2, epoch: 1 }]);
    expect(await other.acquireShards([1, 2, 3], "b", 1000, T0 + 10)).toEqual([{ shard: 3, epoch: 1 }]); // 1 and 2 are a's
    expect(await driver.acquireShards([0, 1, 2], "a", 1000, T0 + 500)).toEqual([{ shard: 0, epoch: 1 }, { shard: 1, epoch: 1 }, { shard: 2, epoch: 1 }]);
    await driver.releaseShards([{ shard: 2, epoch: 1 }], "a");
    expect(await other.acquireShards([1, 2], "b", 1000, T0 + 600)).toEqual([{ shard: 2, epoch: 2 }]); // released: no wait
    expect(await other.acquireShards([1], "b", 1000, T0 + 1501)).toEqual([{ shard: 1, epoch: 2 }]); // a stopped renewing
    expect((await other.shardLeases()).map((l) => [l.shard, l.node_id, l.epoch])).toEqual([[0, "a", 1], [1, "b", 2], [2, "b", 2], [3, "b", 1]]);
    // A stale release (old epoch) changes nothing.
    await driver.releaseShards([{ shard: 1, epoch: 1 }], "a");
    expect((await other.shardLeases()).find((l) => l.shard === 1)!.expires_at).toBe(T0 + 2501);
  });

  it("fencing: a write checked against a lost shard lease rolls back with FencedError", async () => {
    const { driver, peer } = await target.fresh();
    const other = await peer();
    await driver.acquireShards([5], "a", 1000, T0);
    await other.acquireShards([5], "b", 1000, T0 + 1001); // a's lease expired; b holds epoch 2
    // The check and the enqueue run in one transaction of the driver (what a Q-table write will do).
    const write = async (d: typeof driver, node: string, epoch: number, now: number) => {
      return target.name === "sqlite"
        ? (d as any).store.write((db: any) => {
            d.checkShard(db, 5, node, epoch, now);
            return d.enqueueIn(db, [{ kind: "q", payload: node }], 5, now);
          })
        : (d as any).write(async (t: any) => {
            await d.checkShard(t, 5, node, epoch, now);
            return d.enqueueIn(t, [{ kind: "q", payload: node }], 5, now);
          });
    };
    await expect(write(driver, "a", 1, T0 + 1002)).rejects.toThrow("shard 5: lease epoch 1 is no longer held by this node");
    await write(other, "b", 2, T0 + 1002);
    await expect(write(other, "b", 2, T0 + 2002)).rejects.toThrow("no longer held"); // b's own lease expired too
    expect(await driver.depth("q")).toEqual({ q: { queued: 1, running: 0, retry: 0, dead: 0 } });
  });

  it("writes of one event-loop turn share one commit; a failing write is rejected alone", async () => {
    const { driver } = await target.fresh();
    const before = driver.commits;
    const writes = Array.from({ length: 100 }, (_, i) => driver.enqueue([{ kind: i === 50 ? (null as never) : "task", payload: { i } }], 5, T0));
    const settled = await Promise.allSettled(writes);
    expect(settled.filter((s) => s.status === "rejected").length).toBe(1);
    expect(settled[50]!.status).toBe("rejected");
    expect((await driver.depth()).task!.queued).toBe(99);
    // SQLite: the bad write's savepoint rolls back alone. PostgreSQL: the batch rolls back and the
    // 99 others commit again together. Either way: one commit for the good writes.
    expect(driver.commits - before).toBe(1);
    const before2 = driver.commits;
    await Promise.all(Array.from({ length: 100 }, (_, i) => driver.enqueue([{ kind: "task", payload: { i } }], 5, T0)));
    expect(driver.commits - before2).toBeLessThanOrEqual(3);
  });

  it("an acknowledged write is visible to another node at once", async () => {
    const { driver, peer } = await target.fresh();
    const other = await peer();
    const [job] = await driver.enqueue([{ kind: "task", payload: { v: 7 } }], 5, T0);
    expect(JSON.parse((await other.getJob(job!.id))!.payload)).toEqual({ v: 7 });
  });

  it("listeners hear about runnable kinds after the commit (enqueue, replay, recovery), not for duplicates", async () => {
    const { driver } = await target.fresh();
    const heard: string[][] = [];
    driver.onJobsAvailable((k) => heard.push(k));
    await driver.enqueue([{ kind: "a", payload: 1 }, { kind: "b", payload: 2, dedupeKey: "d" }], 5, T0);
    expect(heard.map((k) => [...k].sort())).toEqual([["a", "b"]]);
    await driver.enqueue([{ kind: "b", payload: 3, dedupeKey: "d" }], 5, T0);
    expect(heard.length).toBe(1);
    await driver.claim("a", 1, 10, T0);
    await driver.recoverExpired(T0 + 100);
    expect(heard.at(-1)).toEqual(["a"]);
  });
});
