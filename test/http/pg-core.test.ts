// The core services on PostgreSQL, through two real ferry nodes on one throwaway PostgreSQL:
// /health and /metrics (driver, node, leader, peers, shards, cluster-wide queue depth), the ops
// routes (a job that died on one node replayed through the other), the console's queue history
// and `ferry status`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { FakeChatwoot } from "../fakes/chatwoot";
import { FakeZendesk } from "../fakes/zendesk";
import { BUN, ROOT, startFerry, tempDir, waitFor, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { bridgeConfig, CUSTOMER, CW_WEBHOOK_SECRET, TICKET, ZD_SIGNING_SECRET } from "../bridge/setup";

const reason = pgUnavailable();
if (reason) console.log(`core PostgreSQL tests skipped: ${reason}`);
const pgTest = reason ? test.skip : test;
const TOKEN = "pg-core-test-token";

let cluster: PgCluster | null = null;
beforeAll(async () => {
  if (!reason) cluster = await startPgCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

const json = async (n: TestFerry, method: string, path: string, body?: unknown) => {
  const res = await n.request(method, path, { token: TOKEN, body });
  return { status: res.status, body: (await res.json()) as any };
};

describe("core services on PostgreSQL, two nodes", () => {
  pgTest("/health, /metrics, ops replay across nodes, console queue history, ferry status", async () => {
    const zd = new FakeZendesk({ signingSecret: ZD_SIGNING_SECRET });
    const cw = new FakeChatwoot({ webhookSecret: CW_WEBHOOK_SECRET });
    zd.addCustomer(CUSTOMER, "Jane Customer", "jane@example.com");
    zd.addTicket(TICKET, CUSTOMER);
    const schema = "core_two";
    const nodes: TestFerry[] = [];
    const sql = postgres(cluster!.url, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
    try {
      for (const id of ["node-a", "node-b"]) {
        const dir = tempDir(`ferry-pgcore-${id}-`);
        nodes.push(
          await startFerry(
            {
              ...bridgeConfig(zd, cw, join(dir, "logs")),
              auth: { api_tokens: [TOKEN] },
              storage: { driver: "postgres", url: cluster!.url, schema },
              cluster: { node_id: id, heartbeat: "200ms", leader_ttl: "2s", shards: 8 },
            },
            { dir },
          ),
        );
      }
      const [a, b] = nodes as [TestFerry, TestFerry];

      // Each node sees both, one leader, and the 8 shards split between them.
      const health = async (n: TestFerry) => (await (await n.request("GET", "/health")).json()) as any;
      const settled = async () => {
        const hs = await Promise.all(nodes.map(health));
        const owned = hs.flatMap((h) => h.cluster.owned_shards).sort((x: number, y: number) => x - y);
        return hs.every((h) => h.cluster.peers.length === 2 && h.cluster.owned_shards.length > 0) && owned.join() === "0,1,2,3,4,5,6,7";
      };
      await waitFor(settled, 15_000, "both nodes see each other and own the shards between them");
      const [ha, hb] = await Promise.all(nodes.map(health));
      for (const [h, id] of [[ha, "node-a"], [hb, "node-b"]] as const) {
        expect(h.database).toMatchObject({ ok: true, driver: "postgres", schema_version: 30 });
        // This node's last commit (its heartbeats commit every 250 ms here).
        expect(Date.now() - Date.parse(h.database.last_commit_at)).toBeLessThan(10_000);
        expect(h.cluster).toMatchObject({ driver: "postgres", node_id: id, peers: ["node-a", "node-b"] });
        expect(["node-a", "node-b"]).toContain(h.cluster.leader);
      }
      expect(ha.cluster.leader).toBe(hb.cluster.leader);
      expect(ha.cluster.is_leader).not.toBe(hb.cluster.is_leader);
      expect([...ha.cluster.owned_shards, ...hb.cluster.owned_shards].sort((x: number, y: number) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

      // A bridge job dies on whichever node takes it (Zendesk says the ticket is gone: no retry).
      zd.failNext({ method: "GET", path: /\/api\/v2\/tickets\/5158\.json$/, status: 404, body: JSON.stringify({ error: "RecordNotFound" }) });
      zd.webhookUrl = a.url + "/service-api-webhook/zendesk-webhook";
      zd.comment(TICKET, "Are you there?");
      await zd.settled();
      const [dead] = await waitFor(async () => {
        const rows = await sql<{ id: number }[]>`SELECT id::int AS id FROM jobs WHERE kind = 'bridge.sync' AND status = 'dead'`;
        return rows.length ? rows : null;
      }, 15_000, "the bridge job dead");

      // Both nodes report it: /health (cluster-wide depth), /metrics, and the ops list.
      for (const n of nodes) {
        const h = await health(n);
        expect(h.status).toBe("degraded");
        expect(h.queue.depth["bridge.sync"]).toEqual({ queued: 0, running: 0, retry: 0, dead: 1 });
        expect(h.problems).toContain("queue: 1 dead job (bridge.sync); replay with POST /api/v1/queue/replay");
        expect(h.bridge.jobs.dead).toBe(1);
        const metrics = await (await n.request("GET", "/metrics")).text();
        expect(metrics).toContain('ferry_queue_jobs{kind="bridge.sync",status="dead"} 1');
        expect(metrics).toContain('ferry_database_up{driver="postgres"} 1');
        expect(metrics).toContain(`ferry_cluster_leader{driver="postgres",node="${h.cluster.node_id}",leader="${h.cluster.leader}"} 1`);
        expect(metrics).toContain(`ferry_cluster_peer{driver="postgres",node="${h.cluster.node_id}",peer="node-a"} 1`);
        expect(metrics).toContain(`ferry_cluster_peer{driver="postgres",node="${h.cluster.node_id}",peer="node-b"} 1`);
        expect(metrics).toContain(`ferry_cluster_owned_shards{driver="postgres",node="${h.cluster.node_id}"} ${h.cluster.owned_shards.length}`);
        const list = await json(n, "GET", "/api/v1/queue/jobs?status=dead&kind=bridge.sync");
        expect(list.status).toBe(200);
        expect(list.body.jobs.map((j: any) => j.id)).toEqual([dead!.id]);
        expect(list.body.jobs[0].last_error).toContain("404");
      }
      const one = await json(a, "GET", `/api/v1/queue/jobs/${dead!.id}`);
      expect(one.body).toMatchObject({ id: dead!.id, kind: "bridge.sync", status: "dead", payload: { source: "zendesk" } });
      expect((await json(a, "GET", "/api/v1/queue/jobs/999999")).status).toBe(404);
      expect((await json(a, "POST", `/api/v1/queue/jobs/${dead!.id}/replay`)).status).toBe(200);
      // Replayed through one node, the job is no longer dead: a second replay is a 409.
      expect((await json(b, "POST", `/api/v1/queue/jobs/${dead!.id}/replay`)).status).toBe(409);
      await waitFor(async () => (await sql`SELECT status FROM jobs WHERE id = ${dead!.id}`)[0]?.status === "done", 15_000, "the replayed job done");
      expect(cw.messages.filter((m) => m.message_type === "incoming").map((m) => m.content)).toEqual(["Are you there?"]);

      // Replay by kind: two more deaths, replayed with one call on the other node.
      cw.failNext({ method: "POST", path: /\/conversations\/\d+\/messages$/, status: 422, times: 2, body: JSON.stringify({ error: "invalid" }) });
      zd.comment(TICKET, "first");
      zd.comment(TICKET, "second");
      await zd.settled();
      await waitFor(async () => (await sql`SELECT 1 FROM jobs WHERE kind = 'bridge.sync' AND status = 'dead'`).length === 2, 15_000, "two dead jobs");
      const byKind = await json(b, "POST", "/api/v1/queue/replay", { kind: "bridge.sync" });
      expect(byKind.status).toBe(200);
      expect(byKind.body.replayed).toHaveLength(2);
      await waitFor(async () => (await sql`SELECT 1 FROM jobs WHERE kind = 'bridge.sync' AND status <> 'done'`).length === 0, 15_000, "all done");
      expect(cw.messages.filter((m) => m.message_type === "incoming").map((m) => m.content).sort()).toEqual(["Are you there?", "first", "second"].sort());
      const after = await health(b);
      expect(after.queue.depth["bridge.sync"]).toBeUndefined(); // no unfinished or dead bridge job left
      expect(after.problems.filter((p: string) => p.startsWith("queue:"))).toEqual([]);
      expect(after.queue.done).toBe(3); // the three comments (Chatwoot sends no webhooks in this test)

      // The console's queue history on PostgreSQL (a sample of now at the end).
      const history = await json(a, "GET", "/api/v1/console/queue?minutes=5");
      expect(history.status).toBe(200);
      expect(history.body.samples.length).toBeGreaterThanOrEqual(1);
      expect(history.body.samples.at(-1)).toMatchObject({ waiting: 0, running: 0, dead: 0 });

      // ferry status against a node: the driver and the cluster line.
      // Asynchronously: the nodes answering it run in this process.
      const st = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "status", "--url", b.url], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const out = await new Response(st.stdout).text();
      await st.exited;
      expect(out).toMatch(/database +ok +postgres, schema 30/);
      expect(out).toMatch(/cluster +ok +postgres, node node-b, (this node leads|leader node-a), 2 nodes \(node-a, node-b\), shards \d/);
      // Exit code as for SQLite: 0 ok, 1 degraded (e.g. a feature not yet on PostgreSQL).
      expect(st.exitCode).toBe({ ok: 0, degraded: 1 }[(await health(b)).status as "ok" | "degraded"]);
    } finally {
      for (const n of nodes) await n.stop();
      await sql.end({ timeout: 1 });
      zd.close();
      cw.close();
    }
  }, 120_000);

  pgTest("/health answers within seconds when PostgreSQL stops answering (not refusing: frozen)", async () => {
    const f = await startFerry({ auth: { api_tokens: [TOKEN] }, storage: { driver: "postgres", url: cluster!.url, schema: "frozen" }, cluster: { node_id: "frozen" } });
    // Every process of the throwaway server (the postmaster and its backends), found by parent pid.
    const postmaster = Number((await Bun.file(join(cluster!.dir, "data", "postmaster.pid")).text()).split("\n")[0]);
    const tree = (): number[] => {
      const out = Bun.spawnSync(["ps", "-e", "-o", "pid=,ppid="]).stdout.toString().trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
      return [postmaster, ...out.filter(([, ppid]) => ppid === postmaster).map(([pid]) => pid)];
    };
    const frozen = tree();
    try {
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
      const started = performance.now();
      const res = await fetch(f.url + "/health", { signal: AbortSignal.timeout(20_000) });
      const seconds = (performance.now() - started) / 1000;
      expect(res.status).toBe(503);
      const h = (await res.json()) as any;
      expect(h.status).toBe("unavailable");
      expect(h.database).toMatchObject({ ok: false, driver: "postgres", error: "the database did not answer within 3 s" });
      expect(seconds).toBeLessThan(10);
    } finally {
      for (const pid of frozen) process.kill(pid, "SIGCONT");
    }
    // Back: healthy again.
    await waitFor(async () => (await fetch(f.url + "/health")).status === 200, 15_000, "healthy after the server answers again");
    await f.stop();
  }, 60_000);
});
