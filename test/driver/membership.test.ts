// Cluster membership (heartbeats + the leader row) on both drivers, leader failover between two
// PostgreSQL nodes, leader-only maintenance, and what /health and /metrics show on a real ferry.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import pino from "pino";
import { Membership } from "../../src/cluster/membership";
import { Scheduler } from "../../src/scheduler";
import { startFerry, waitFor } from "../helpers/ferry";
import { closeAll, pgReason, stopCluster, targets } from "./harness";

const log = pino({ level: "silent" });
afterEach(closeAll);
afterAll(stopCluster);

function fakeClock(t = 1_800_000_000_000) {
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe.each(targets)("membership on the $name driver", (target) => {
  const it = target.unavailable ? test.skip : test;

  it("a node alone becomes the leader at start and sees itself as the only peer", async () => {
    const { driver } = await target.fresh();
    const m = new Membership(driver, { nodeId: "solo", heartbeatMs: 1000, ttlMs: 3000, clock: fakeClock(), log });
    await m.start();
    expect(m.status()).toMatchObject({ driver: target.name, node_id: "solo", leader: "solo", is_leader: true, peers: ["solo"] });
    // PostgreSQL: the leader row is in the database; SQLite: the instance lock makes it the leader, nothing is written.
    expect((await driver.leader("maintenance", 1_800_000_000_000))?.node_id ?? null).toBe(target.name === "postgres" ? "solo" : null);
    await m.stop();
    expect(await driver.leader("maintenance", 1_800_000_000_000)).toBeNull(); // resigned
  });
});

describe("two nodes on one PostgreSQL", () => {
  const it = pgReason ? test.skip : test;
  const pg = targets.find((t) => t.name === "postgres")!;

  it("one leader at a time; the other takes over once the leader stops renewing, and leader-only services follow", async () => {
    const { driver, peer } = await pg.fresh();
    const other = await peer();
    const clock = fakeClock();
    const a = new Membership(driver, { nodeId: "a", heartbeatMs: 60_000, ttlMs: 3000, clock, log });
    const b = new Membership(other, { nodeId: "b", heartbeatMs: 60_000, ttlMs: 3000, clock, log });
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    await a.beat(); // a now sees b's heartbeat too
    expect(a.status().peers).toEqual(["a", "b"]);
    expect(b.status()).toMatchObject({ leader: "a", is_leader: false, peers: ["a", "b"] });

    // Leader-only maintenance runs where the gate says so.
    const runs: string[] = [];
    const schedulers = [a, b].map((m, i) => {
      const s = new Scheduler(log);
      s.setLeaderGate(() => m.isLeader);
      s.add({ name: "cleanup", pattern: "* * * * * *", leaderOnly: true, run: () => void runs.push(i ? "b" : "a") });
      s.start();
      return s;
    });
    try {
      await waitFor(() => runs.length >= 2, 5000, "two ticks");
      expect(new Set(runs)).toEqual(new Set(["a"]));
      expect(schedulers[1]!.status()[0]).toMatchObject({ name: "cleanup", leader_only: true, runs: 0 });
      expect(schedulers[1]!.status()[0]!.skipped).toBeGreaterThanOrEqual(2); // b skipped the ticks a ran

      // a freezes (no more heartbeats, no resignation: a crash); b takes over after the TTL.
      clock.advance(2000);
      await b.beat();
      expect(b.isLeader).toBe(false); // not yet: a's row is still valid
      clock.advance(1001);
      await b.beat();
      expect(b.status()).toMatchObject({ leader: "b", is_leader: true, peers: ["b"] });
      // a comes back: its renewal loses, it steps down at once.
      await a.beat();
      expect(a.status()).toMatchObject({ leader: "b", is_leader: false });
      runs.length = 0;
      await waitFor(() => runs.length >= 2, 5000, "two ticks after failover");
      expect(new Set(runs)).toEqual(new Set(["b"]));
    } finally {
      for (const s of schedulers) s.stop();
      await a.stop();
      await b.stop();
    }
  });
});

describe("a real ferry on SQLite", () => {
  test("/health shows the driver, node id, leader and peers; /metrics the same as gauges", async () => {
    const f = await startFerry({ cluster: { node_id: "vm-1" } });
    try {
      const health = (await (await f.request("GET", "/health")).json()) as Record<string, any>;
      expect(health.cluster).toMatchObject({ ok: true, driver: "sqlite", node_id: "vm-1", leader: "vm-1", is_leader: true, peers: ["vm-1"] });
      expect(health.cluster.owned_shards.length).toBe(64); // alone on SQLite: every shard
      // Features reach the same through their context.
      expect(f.daemon.ctx.cluster.nodeId).toBe("vm-1");
      expect(f.daemon.ctx.cluster.shards.epochOf(17)).toBe(0);
      expect(health.status).toBe("ok");
      const metrics = await (await f.request("GET", "/metrics")).text();
      expect(metrics).toContain('ferry_cluster_is_leader{driver="sqlite",node="vm-1"} 1');
      expect(metrics).toContain('ferry_cluster_peers{driver="sqlite",node="vm-1"} 1');
      expect(metrics).toContain('ferry_cluster_owned_shards{driver="sqlite",node="vm-1"} 64');
    } finally {
      await f.stop();
    }
  });
});
