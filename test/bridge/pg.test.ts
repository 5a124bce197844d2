// The bridge on PostgreSQL: two real ferry nodes on one throwaway PostgreSQL, one fake Zendesk and
// one fake Chatwoot. Zendesk's webhooks alternate between the nodes, Chatwoot answers slowly, so
// both nodes hold bridge jobs at once: the messages must still reach Chatwoot in the order ferry
// took the comments in, and the ticket's conversation must be created once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { FakeChatwoot } from "../fakes/chatwoot";
import { FakeZendesk } from "../fakes/zendesk";
import { startFerry, tempDir, waitFor, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { bridgeConfig, CUSTOMER, CW_WEBHOOK_SECRET, TICKET, ZD_SIGNING_SECRET } from "./setup";

const reason = pgUnavailable();
if (reason) console.log(`bridge PostgreSQL tests skipped: ${reason}`);
const pgTest = reason ? test.skip : test;

let cluster: PgCluster | null = null;
beforeAll(async () => {
  if (!reason) cluster = await startPgCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

/** A slow Chatwoot: each API call waits 10-60 ms (varying) before the fake answers, as a real API would. */
function slowProxy(target: () => string) {
  let calls = 0;
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      await Bun.sleep(10 + ((calls++ * 37) % 50));
      const url = new URL(req.url);
      const body = req.method === "GET" ? undefined : await req.arrayBuffer();
      return fetch(target() + url.pathname + url.search, { method: req.method, headers: req.headers, body });
    },
  });
}

function dayLog(dir: string): string {
  try {
    return readdirSync(dir)
      .sort()
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("");
  } catch {
    return "";
  }
}

describe("bridge on PostgreSQL, two nodes", () => {
  pgTest("comments of one ticket sent to both nodes reach Chatwoot in order, one conversation, each once", async () => {
    const zd = new FakeZendesk({ signingSecret: ZD_SIGNING_SECRET });
    const cw = new FakeChatwoot({ webhookSecret: CW_WEBHOOK_SECRET });
    const proxy = slowProxy(() => cw.url);
    zd.addCustomer(CUSTOMER, "Jane Customer", "jane@example.com");
    zd.addTicket(TICKET, CUSTOMER);
    const schema = "bridge_two";
    const nodes: TestFerry[] = [];
    const sql = postgres(cluster!.url, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
    try {
      for (const id of ["node-a", "node-b"]) {
        const dir = tempDir(`ferry-pgbridge-${id}-`);
        const config = bridgeConfig(zd, cw, join(dir, "logs"), { chatwoot: { base_url: `http://127.0.0.1:${proxy.port}` } });
        nodes.push(await startFerry({ ...config, storage: { driver: "postgres", url: cluster!.url, schema }, cluster: { node_id: id } }, { dir }));
      }
      const [a, b] = nodes as [TestFerry, TestFerry];
      // Chatwoot's echoes go to node a (they are dropped as the bridge's own messages).
      cw.webhookUrl = a.url + "/service-api-webhook/chatwoot-webhook";

      const texts = Array.from({ length: 8 }, (_, i) => `message ${i + 1}`);
      for (const [i, text] of texts.entries()) {
        zd.webhookUrl = nodes[i % 2]!.url + "/service-api-webhook/zendesk-webhook";
        zd.comment(TICKET, text);
      }
      await zd.settled();
      expect(zd.deliveries.map((d) => d.status)).toEqual(texts.map(() => 200));

      const jobs = () => sql<{ id: number; status: string; payload: string }[]>`SELECT id, status, payload FROM jobs WHERE kind = 'bridge.sync' ORDER BY run_at, id`;
      await waitFor(async () => {
        await cw.settled();
        const all = await jobs();
        return all.length >= texts.length && all.every((j) => j.status === "done");
      }, 30_000, "every bridge job done");

      // The order ferry took the comments in (its claim order), as Chatwoot received them.
      const taken = (await jobs())
        .map((j) => JSON.parse(j.payload))
        .filter((p) => p.source === "zendesk")
        .map((p) => p.body.event.comment.body);
      expect([...taken].sort()).toEqual([...texts].sort());
      const incoming = cw.messages.filter((m) => m.message_type === "incoming").map((m) => m.content);
      expect(incoming).toEqual(taken);
      // One contact and one conversation although the first comments reached two nodes at once.
      expect(cw.contacts).toHaveLength(1);
      expect(cw.conversations).toHaveLength(1);
      expect(cw.requestsTo("POST", /\/conversations$/)).toHaveLength(1);

      // Both nodes did bridge work (each writes its own day file).
      const forwarded = nodes.map((n) => (dayLog(join(n.dir, "logs")).match(/✅ Zendesk → Chatwoot/g) ?? []).length);
      expect(forwarded[0]! + forwarded[1]!).toBe(texts.length);
      expect(forwarded[0]).toBeGreaterThan(0);
      expect(forwarded[1]).toBeGreaterThan(0);

      // An agent's reply through node b crosses once; its Zendesk echo (to node a) is dropped.
      cw.webhookUrl = b.url + "/service-api-webhook/chatwoot-webhook";
      zd.webhookUrl = a.url + "/service-api-webhook/zendesk-webhook";
      cw.reply(cw.conversations[0]!.id, "We have reset your password.");
      await waitFor(async () => {
        await cw.settled();
        await zd.settled();
        const all = await jobs();
        return all.length >= texts.length + 2 && all.every((j) => j.status === "done") && zd.tickets.get(TICKET)!.comments.some((c) => c.via === "api");
      }, 30_000, "the reply forwarded");
      await zd.settled();
      await waitFor(async () => (await jobs()).every((j) => j.status === "done"), 10_000, "the echo handled");
      expect(zd.tickets.get(TICKET)!.comments.filter((c) => c.via === "api").map((c) => c.body)).toEqual(["We have reset your password."]);
      expect(cw.messages.filter((m) => m.message_type === "incoming")).toHaveLength(texts.length);

      // /health on PostgreSQL: the bridge section from the shared tables, the same on both nodes.
      for (const n of nodes) {
        const h = (await (await n.request("GET", "/health")).json()) as any;
        expect(h.database.driver).toBe("postgres");
        expect(h.bridge.enabled).toBe(true);
        expect(h.bridge.zendesk_to_chatwoot.ok).toBe(true);
        expect(h.bridge.zendesk_to_chatwoot.last_success).toBe(`${TICKET} → ${cw.conversations[0]!.id}`);
        expect(h.bridge.chatwoot_to_zendesk.last_success).toBe(`${cw.conversations[0]!.id} → ${TICKET}`);
        expect(h.bridge.jobs).toEqual({ queued: 0, running: 0, retry: 0, dead: 0 });
      }
    } finally {
      for (const n of nodes) await n.stop();
      await sql.end({ timeout: 1 });
      proxy.stop(true);
      zd.close();
      cw.close();
    }
  }, 90_000);
});
