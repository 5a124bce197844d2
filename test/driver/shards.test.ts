// Course shards: rendezvous hashing (pure), and shard leases between two PostgreSQL nodes —
// an even split, failover with an epoch bump, fencing of the old owner, and a takeover waiting
// for a write that already passed its check.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import pino from "pino";
import { ownerOf, shardOfCourse } from "../../src/cluster/rendezvous";
import { ShardOwner } from "../../src/cluster/shards";
import type { PostgresDriver } from "../../src/store/driver/postgres";
import { closeAll, pgReason, stopCluster, targets } from "./harness";

const log = pino({ level: "silent" });
afterEach(closeAll);
afterAll(stopCluster);

describe("rendezvous hashing", () => {
  const shards = Array.from({ length: 1024 }, (_, i) => i);

  test("every shard has one owner, about 1/N each, the same whatever the order nodes are listed in", () => {
    const nodes = ["ferry-1", "ferry-2", "ferry-3"];
    const counts = new Map<string, number>();
    for (const s of shards) counts.set(ownerOf(s, nodes)!, (counts.get(ownerOf(s, nodes)!) ?? 0) + 1);
    for (const n of nodes) expect(Math.abs(counts.get(n)! - 1024 / 3)).toBeLessThan(1024 / 3 * 0.2);
    expect(shards.every((s) => ownerOf(s, nodes) === ownerOf(s, [...nodes].reverse()))).toBe(true);
    expect(ownerOf(0, [])).toBeNull();
  });

  test("a node leaving moves only its own shards; a node joining takes about 1/N from the others", () => {
    const three = ["a", "b", "c"];
    const two = ["a", "b"];
    const moved = shards.filter((s) => ownerOf(s, three) !== ownerOf(s, two));
    expect(moved.every((s) => ownerOf(s, three) === "c")).toBe(true);
    const four = [...three, "d"];
    const taken = shards.filter((s) => ownerOf(s, three) !== ownerOf(s, four));
    expect(taken.every((s) => ownerOf(s, four) === "d")).toBe(true);
    expect(Math.abs(taken.length - 256)).toBeLessThan(60);
  });

  test("courses spread over the shards deterministically", () => {
    expect(shardOfCourse(2, 64)).toBe(shardOfCourse(2, 64));
    const used = new Set(Array.from({ length: 1000 }, (_, c) => shardOfCourse(c, 64)));
    expect(used.size).toBe(64);
  });
});

describe("shard leases on two PostgreSQL nodes", () => {
  const it = pgReason ? test.skip : test;
  const pg = targets.find((t) => t.name === "postgres")!;

  function clock(t = 1_800_000_000_000) {
    return { now: () => t, advance: (ms: number) => void (t += ms) };
  }

  it("split without overlap; the survivor takes the silent node's shards at epoch + 1; the old owner is fenced", async () => {
    const { driver, peer } = await pg.fresh();
    const other = await peer();
    const c = clock();
    const events: string[] = [];
    const mk = (d: typeof driver, node: string) =>
      new ShardOwner(d, { nodeId: node, shards: 16, ttlMs: 3000, clock: c, log, onAcquire: (s, e) => events.push(`${node}+${s}@${e}`), onLose: (s) => events.push(`${node}-${s}`) });
    const a = mk(driver, "a");
    const b = mk(other, "b");
    await a.rebalance(["a"]); // alone at first: a takes all 16
    expect(a.ownedShards().length).toBe(16);
    await b.rebalance(["a", "b"]); // b sees both; a has not released yet, so b gets nothing
    expect(b.ownedShards()).toEqual([]);
    await a.rebalance(["a", "b"]); // a releases b's share at once
    await b.rebalance(["a", "b"]);
    const mineA = a.ownedShards();
    const mineB = b.ownedShards();
    expect(mineA.length + mineB.length).toBe(16);
    expect(mineA.filter((s) => mineB.includes(s))).toEqual([]);
    expect(mineB.every((s) => b.epochOf(s) === 2)).toBe(true); // released by a, so a new epoch
    expect(mineB.every((s) => ownerOf(s, ["a", "b"]) === "b")).toBe(true);

    // b goes silent (a crash: no release). a sees only itself and takes b's shards after the TTL.
    c.advance(1000);
    await a.rebalance(["a"]);
    expect(a.ownedShards()).toEqual(mineA); // b's leases still valid
    c.advance(2001);
    await a.rebalance(["a"]);
    expect(a.ownedShards().length).toBe(16);
    const s = mineB[0]!;
    expect(a.epochOf(s)).toBe(3);
    expect(events).toContain(`a+${s}@3`);
    // b wakes up with its old epoch: its write for that shard is refused…
    const stale = (other as PostgresDriver).write(async (tx) => {
      await other.checkShard(tx, s, "b", 2, c.now());
      await tx`SELECT 1`;
    });
    await expect(stale).rejects.toThrow(`shard ${s}: lease epoch 2 is no longer held`);
    // …and at its next rebalance it learns it lost them.
    await b.rebalance(["a", "b"]);
    expect(b.ownedShards()).toEqual([]); // a holds all 16 under valid leases now
    expect(events).toContain(`b-${s}`);
  });

  it("a takeover waits for a write that passed its fencing check (the lease row is share-locked until that commit)", async () => {
    const { driver, peer } = await pg.fresh();
    const other = await peer();
    const T = 1_800_000_000_000;
    await (driver as PostgresDriver).sql`CREATE TABLE qtable (shard int, writer text, at bigint)`;
    await driver.acquireShards([7], "a", 1000, T);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let checked!: () => void;
    const passed = new Promise<void>((r) => (checked = r));
    const order: string[] = [];
    // a: checks its lease, then takes its time before writing and committing.
    const slow = (driver as PostgresDriver).write(async (tx) => {
      await driver.checkShard(tx, 7, "a", 1, T + 999);
      checked();
      await gate;
      await tx`INSERT INTO qtable VALUES (7, 'a', ${T + 999})`;
    }).then(() => order.push("a committed"));
    await passed;
    // b: the lease has expired by b's clock; its takeover blocks on a's share lock.
    const takeover = other.acquireShards([7], "b", 1000, T + 1001).then((h) => {
      order.push("b took over");
      return h;
    });
    await Bun.sleep(300);
    expect(order).toEqual([]); // b is waiting
    release();
    const [held] = await takeover;
    await slow;
    expect(order).toEqual(["a committed", "b took over"]);
    expect(held).toEqual({ shard: 7, epoch: 2 });
  });
});
