// Two nodes configured with one cluster.node_id (a config file copied to every VM): shards and
// the leader row are keyed by the id, so the second is refused at start, and a process that
// finds its id taken while running leaves the cluster instead of sharing its shards.
import { afterAll, expect, test } from "bun:test";
import { NodeIdInUseError } from "../../src/cluster/membership";
import { startFerry, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";

const reason = pgUnavailable();
if (reason) console.log(`node id tests skipped: ${reason}`);
const it = reason ? test.skip : test;

let cluster: PgCluster | null = null;
const running: TestFerry[] = [];
afterAll(async () => {
  await Promise.allSettled(running.map((f) => f.stop()));
  await cluster?.stop();
});

const node = async (url: string, id: string) => {
  const f = await startFerry({ storage: { driver: "postgres", url }, cluster: { node_id: id, shards: 4, heartbeat: "200ms", leader_ttl: "1s" } });
  running.push(f);
  return f;
};

it("a second process with a live node's id is refused; after a clean stop the id is free at once", async () => {
  cluster = await startPgCluster();
  const url = await cluster.createDatabase(`nodeid_${process.pid}`);
  const a = await node(url, "ferry-1");
  const t0 = Date.now();
  const err = await node(url, "ferry-1").catch((e) => e);
  expect(err).toBeInstanceOf(NodeIdInUseError);
  expect(String(err.message)).toContain(`cluster.node_id "ferry-1" is in use by another running ferry (pid ${process.pid}`);
  expect(Date.now() - t0).toBeLessThan(5000);
  // The refused start took nothing: the first node still owns every shard and leads.
  const h = (await (await a.request("GET", "/health")).json()) as any;
  expect(h.cluster).toMatchObject({ node_id: "ferry-1", leader: "ferry-1", is_leader: true, owned_shards: [0, 1, 2, 3] });

  await a.stop();
  running.splice(running.indexOf(a), 1);
  const t1 = Date.now();
  const b = await node(url, "ferry-1");
  expect(Date.now() - t1).toBeLessThan(900); // no waiting out the 1 s TTL after a clean stop
  const hb = (await (await b.request("GET", "/health")).json()) as any;
  expect(hb.cluster.owned_shards).toEqual([0, 1, 2, 3]);
}, 60_000);

it("a node whose id another process starts heartbeating under leaves the cluster and says why in /health", async () => {
  cluster ??= await startPgCluster();
  const url = await cluster.createDatabase(`nodeid2_${process.pid}`);
  const a = await node(url, "ferry-2");
  // An impostor writes ferry-2's row as a second process would (its own instance).
  const driver = (a.daemon.ctx.storage as { driver: import("../../src/store/driver/postgres").PostgresDriver }).driver;
  const impostor = setInterval(() => void driver.touchNode("ferry-2", Date.now(), Date.now(), { instance: "other", pid: 4242, host: "vm-b" }), 50);
  try {
    const end = Date.now() + 5000;
    let h: any;
    do {
      await Bun.sleep(100);
      h = await (await a.request("GET", "/health")).json();
    } while (!h.cluster.error && Date.now() < end);
    expect(h.cluster.error).toContain('cluster.node_id "ferry-2" is also used by another running ferry (pid 4242 on vm-b)');
    expect(h.cluster.owned_shards).toEqual([]);
    expect(h.cluster.is_leader).toBe(false);
    expect(h.status).not.toBe("ok");
  } finally {
    clearInterval(impostor);
  }
}, 60_000);
