// The bridge's cluster-wide turn when the node holding it is SIGKILLed mid-job (the compiled
// binary, two nodes on one throwaway PostgreSQL): the lock goes with the dead node's connection,
// the survivor retries the interrupted job once its lease lapsed and then runs the one that was
// waiting; every comment reaches Chatwoot exactly once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { FakeChatwoot } from "../fakes/chatwoot";
import { FakeZendesk } from "../fakes/zendesk";
import { ensureBinary, freePort, spawnFerry, tempDir, waitFor, writeConfig, type ChildFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { bridgeConfig, CUSTOMER, CW_WEBHOOK_SECRET, TICKET, ZD_SIGNING_SECRET } from "./setup";

const reason = pgUnavailable();
if (reason) console.log(`bridge PostgreSQL failover test skipped: ${reason}`);
const pgTest = reason ? test.skip : test;

let cluster: PgCluster | null = null;
beforeAll(async () => {
  if (!reason) cluster = await startPgCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

/**
 * Chatwoot behind a gate: message posts wait until `open()`; a post whose client went away
 * (its node was killed) is never forwarded, as a real API never sees a request that was not sent.
 */
function gatedChatwoot(target: () => string) {
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  let held = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === "GET" ? undefined : await req.arrayBuffer();
      if (req.method === "POST" && /\/messages$/.test(url.pathname)) {
        held++;
        const gone = new Promise<"gone">((r) => req.signal.addEventListener("abort", () => r("gone")));
        const outcome = await Promise.race([gate.then(() => "open" as const), gone]);
        held--;
        if (outcome === "gone" || req.signal.aborted) return new Response("client gone", { status: 499 });
      }
      return fetch(target() + url.pathname + url.search, { method: req.method, headers: req.headers, body });
    },
  });
  return {
    server,
    held: () => held,
    open: () => release(),
    close: () => {
      gate = new Promise<void>((r) => (release = r));
    },
  };
}

describe("bridge turn on PostgreSQL after a SIGKILL", () => {
  pgTest("the survivor takes the turn, retries the killed node's job and runs the waiting one; each comment once", async () => {
    const binary = await ensureBinary();
    const zd = new FakeZendesk({ signingSecret: ZD_SIGNING_SECRET });
    const cw = new FakeChatwoot({ webhookSecret: CW_WEBHOOK_SECRET });
    const gate = gatedChatwoot(() => cw.url);
    zd.addCustomer(CUSTOMER, "Jane Customer", "jane@example.com");
    zd.addTicket(TICKET, CUSTOMER);
    const schema = "bridge_failover";
    const sql = postgres(cluster!.url, { max: 1, onnotice: () => {}, connection: { search_path: schema, application_name: "failover-test" } });
    const nodes = new Map<string, ChildFerry>();
    try {
      for (const id of ["node-a", "node-b"]) {
        const dir = tempDir(`ferry-pgfail-${id}-`);
        const port = freePort();
        const config = {
          ...bridgeConfig(zd, cw, join(dir, "logs"), { chatwoot: { base_url: `http://127.0.0.1:${gate.server.port}` } }),
          server: { port },
          storage: { driver: "postgres", url: cluster!.url, schema, pool: 4 },
          cluster: { node_id: id, heartbeat: "200ms", leader_ttl: "1s" },
          queue: { lease: "2s", maintenance_cron: "* * * * * *" },
        };
        nodes.set(id, await spawnFerry(writeConfig(dir, config), port, { binary }));
      }
      const urlOf = (id: string) => `${nodes.get(id)!.url}/service-api-webhook/zendesk-webhook`;
      const jobs = () => sql<{ id: number; status: string; attempts: number }[]>`SELECT id::int AS id, status, attempts FROM jobs WHERE kind = 'bridge.sync' ORDER BY id`;

      // The first comment's job reaches Chatwoot's message call and is held there, holding the turn.
      zd.webhookUrl = urlOf("node-a");
      zd.comment(TICKET, "first");
      await zd.settled();
      await waitFor(() => gate.held() === 1, 15_000, "the first message held at Chatwoot");
      const [holder] = await sql<{ app: string }[]>`SELECT a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted`;
      const killed = holder!.app.replace(/^ferry /, "");
      expect(["node-a", "node-b"]).toContain(killed);
      const survivor = killed === "node-a" ? "node-b" : "node-a";

      // A second comment (sent to the survivor) waits for the turn.
      zd.webhookUrl = urlOf(survivor);
      zd.comment(TICKET, "second");
      await zd.settled();
      await waitFor(async () => (await jobs()).filter((j) => j.status === "running").length === 2, 15_000, "the second job claimed and waiting");
      await Bun.sleep(300);
      expect(gate.held()).toBe(1); // it did not pass the holder

      expect(await nodes.get(killed)!.kill("SIGKILL")).not.toBe(0);
      // The lock went with the dead node's connection.
      await waitFor(async () => (await sql`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`).length <= 1, 5_000, "the killed node's lock gone");

      gate.open();
      await waitFor(async () => {
        await cw.settled();
        return (await jobs()).every((j) => j.status === "done") && cw.messages.filter((m) => m.message_type === "incoming").length === 2;
      }, 30_000, "both comments forwarded by the survivor");
      const incoming = cw.messages.filter((m) => m.message_type === "incoming").map((m) => m.content);
      expect([...incoming].sort()).toEqual(["first", "second"]);
      expect(cw.conversations).toHaveLength(1);
      const done = await jobs();
      // The killed node's job ran again (a second attempt); the waiting one once.
      expect(done.map((j) => j.attempts).sort()).toEqual([1, 2]);
      const h = (await (await fetch(`${nodes.get(survivor)!.url}/health`)).json()) as any;
      expect(h.cluster).toMatchObject({ node_id: survivor, leader: survivor, peers: [survivor] });
      expect(h.bridge.jobs).toEqual({ queued: 0, running: 0, retry: 0, dead: 0 });
    } finally {
      gate.open();
      for (const n of nodes.values()) if (n.proc.exitCode === null) await n.kill("SIGTERM");
      await sql.end({ timeout: 1 });
      gate.server.stop(true);
      zd.close();
      cw.close();
    }
  }, 120_000);
});
