// The webhooks feature on PostgreSQL through the real daemon (`storage.driver: postgres`):
// publish → signed delivery, retry, dead + replay, dedupe, the monitoring reads, and two nodes on
// one database (no delivery sent twice at once; a killed node's leased delivery sent by the other
// once the lease lapsed). Real PostgreSQL (a throwaway cluster), real HTTP, fake subscribers;
// skipped with the reason printed where PostgreSQL is absent.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { FakeSubscriber, type RecordedRequest } from "../fakes/subscriber";
import { BUN, ensureBinary, freePort, ROOT, startFerry, tempDir, waitFor, writeConfig, type TestFerry } from "../helpers/ferry";
import { join } from "node:path";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import type { PostgresDriver } from "../../src/store/driver/postgres";
import type { WebhooksModule } from "../../src/modules/webhooks/module";
import type { PgWebhookEngine } from "../../src/modules/webhooks/engine-pg";
import { sub, TOKEN } from "./helpers";

const reason = pgUnavailable();
if (reason) console.log(`PostgreSQL webhooks tests skipped: ${reason}`);

const WHSEC = `whsec_${Buffer.from("a-test-signing-key-of-32-bytes!!").toString("base64")}`;
let cluster: PgCluster | null = null;
let schemas = 0;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  if (!reason) cluster = await startPgCluster();
});
afterAll(async () => {
  await cluster?.stop();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function freshSchema(): string {
  return `wh${++schemas}_${process.pid}`;
}

/** A node's config: its own node id (NOTIFY skips a node's own notifications), on `schema`. */
function configWith(schema: string, nodeId: string, subscribers: unknown[], extra: Record<string, unknown> = {}, webhooks: Record<string, unknown> = {}) {
  return {
    auth: { api_tokens: [TOKEN] },
    storage: { driver: "postgres", url: cluster!.url, schema, pool: 4 },
    cluster: { node_id: nodeId },
    webhooks: { allow_private_targets: true, subscribers, ...webhooks },
    ...extra,
  };
}

async function node(config: Record<string, unknown>): Promise<TestFerry> {
  const f = await startFerry(config);
  cleanups.push(() => f.stop());
  return f;
}

function pgOf(f: TestFerry): PostgresDriver {
  const s = f.daemon.ctx.storage;
  if (s.kind !== "postgres") throw new Error("not on PostgreSQL");
  return s.driver;
}

function engineOf(f: TestFerry): PgWebhookEngine {
  return (f.daemon.modules.find((m) => m.name === "webhooks") as WebhooksModule).engine as PgWebhookEngine;
}

async function fake(opts: Parameters<typeof FakeSubscriber.start>[0] = {}): Promise<FakeSubscriber> {
  const f = await FakeSubscriber.start(opts);
  cleanups.push(() => f.stop());
  return f;
}

async function publish(n: { url: string }, event: Record<string, unknown>) {
  const r = await fetch(`${n.url}/api/v1/events`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(event) });
  return { status: r.status, body: (await r.json()) as any };
}

async function deliveryIds(n: TestFerry, eventId: string): Promise<string[]> {
  const rows = await pgOf(n).sql<{ id: string }[]>`SELECT id FROM webhook_deliveries WHERE event_id = ${eventId} ORDER BY created_at, id`;
  return rows.map((r) => r.id);
}

/** The one row of an aggregate query (counts come back as numbers: int8 is parsed as one). */
async function one<T>(n: TestFerry, query: string): Promise<T> {
  const rows = await pgOf(n).sql.unsafe(query);
  return rows[0] as T;
}

async function delivery(n: TestFerry, id: string): Promise<any> {
  return (await n.request("GET", `/api/v1/deliveries/${id}`, { token: TOKEN })).json();
}

async function waitStatus(n: TestFerry, id: string, status: string, timeoutMs = 15_000): Promise<any> {
  return waitFor(
    async () => {
      const d = await delivery(n, id);
      return d.status === status ? d : null;
    },
    timeoutMs,
    `delivery ${id} to become ${status}`,
  );
}

describe.skipIf(!!reason)("webhooks on PostgreSQL", () => {
  test("a published event is stored, delivered signed, and a repeated id is answered without a second fan-out", async () => {
    const rx = await fake();
    const a = await node(configWith(freshSchema(), "node-a", [sub("s1", rx.url, { secret: WHSEC })]));
    const event = { id: "evt_pg_1", name: "attempt.submitted", context: { tenantId: "t1" }, data: { attemptId: "a1", score: 85 } };
    const first = await publish(a, event);
    expect(first).toEqual({ status: 202, body: { id: "evt_pg_1" } });
    // 202 means committed: the rows are there for any node's reads.
    const [id] = await deliveryIds(a, "evt_pg_1");
    expect(id).toMatch(/^msg_/);
    const again = await publish(a, event);
    expect(again).toEqual({ status: 202, body: { id: "evt_pg_1" } });
    expect(await deliveryIds(a, "evt_pg_1")).toEqual([id!]);

    const req = await waitFor(() => rx.requests[0], 10_000, "the delivery");
    expect(req.headers["webhook-id"]).toBe(id!);
    expect(req.headers["x-event-id"]).toBe("evt_pg_1");
    expect(req.headers["x-delivery-attempt"]).toBe("1");
    expect(new Webhook(WHSEC).verify(req.body, req.headers)).toMatchObject({ id: "evt_pg_1", name: "attempt.submitted", data: { attemptId: "a1", score: 85 } });
    const d = await waitStatus(a, id!, "delivered");
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ attempt: 1, status_code: 200, outcome: "delivered" });
    expect(d.payload).toMatchObject({ id: "evt_pg_1" });
    await Bun.sleep(300);
    expect(rx.requests).toHaveLength(1); // the repeat sent nothing

    // A batch of publishes in one turn: one group-commit write, every 202 after its commit.
    const before = pgOf(a).commits;
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => publish(a, { id: `evt_pg_batch_${i}`, name: "test.published", data: { i } })));
    expect(many.every((r) => r.status === 202)).toBe(true);
    expect(pgOf(a).commits - before).toBeLessThan(20);
    const { n } = await one<{ n: number }>(a, `SELECT count(*) AS n FROM webhook_deliveries WHERE event_id LIKE 'evt_pg_batch_%'`);
    expect(n).toBe(20);
    await waitFor(() => rx.requests.length >= 21 || null, 10_000, "the batch's deliveries");
  });

  test("a 500 is retried with the same webhook-id and then delivered; metrics and health read PostgreSQL", async () => {
    const rx = await fake();
    rx.reply({ status: 500, body: "down" });
    const a = await node(configWith(freshSchema(), "node-a", [sub("s1", rx.url, { secret: WHSEC, retry: { max_attempts: 4, backoff: "exponential", base_ms: 200, max_ms: 1000, jitter: 0 } })]));
    await publish(a, { id: "evt_retry", name: "attempt.started", data: { attemptId: "a2" } });
    const [id] = await deliveryIds(a, "evt_retry");
    const d = await waitStatus(a, id!, "delivered");
    expect(d.attempts.map((x: any) => [x.attempt, x.status_code, x.outcome])).toEqual([
      [1, 500, "retry"],
      [2, 200, "delivered"],
    ]);
    expect(d.attempts[0].response).toBe("down");
    expect(rx.requests.map((r) => r.headers["webhook-id"])).toEqual([id!, id!]);
    expect(rx.requests.map((r) => r.headers["x-delivery-attempt"])).toEqual(["1", "2"]);
    // The retry waited for its backoff.
    expect(rx.requests[1]!.at - rx.requests[0]!.at).toBeGreaterThanOrEqual(150);

    const m = (await (await a.request("GET", "/api/v1/webhook-metrics?hours=1", { token: TOKEN })).json()) as any;
    expect(m.total).toMatchObject({ attempted: 2, delivered: 1, retried: 1, pending: 0, dead: 0, success_rate: 1 });
    const h = (await (await a.request("GET", "/api/v1/webhook-health", { token: TOKEN })).json()) as any;
    expect(h.subscribers[0]).toMatchObject({ id: "s1", status: "healthy", consecutive_failures: 0 });
    const list = await a.daemon.ctx.capabilities.webhooks!.deliveriesInWindow({ limit: 10 });
    expect(list.deliveries.map((x) => [x.id, x.status])).toEqual([[id!, "delivered"]]);
  });

  test("an exhausted delivery is dead, listed, counted, and a replay delivers it with the same id", async () => {
    const rx = await fake({ reply: { status: 503 } });
    const a = await node(configWith(freshSchema(), "node-a", [sub("s1", rx.url, { secret: WHSEC, retry: { max_attempts: 2, backoff: "exponential", base_ms: 100, max_ms: 100, jitter: 0 } })]));
    await publish(a, { id: "evt_dead", name: "test.unpublished", data: { testId: "t9" } });
    const [id] = await deliveryIds(a, "evt_dead");
    const dead = await waitStatus(a, id!, "dead");
    expect(dead.attempt_count).toBe(2);
    expect(dead.last_error).toContain("exhausted");
    // The operational event was stored in the same write as the outcome.
    const [ex] = await pgOf(a).sql<{ envelope: string }[]>`SELECT envelope FROM events WHERE name = 'delivery.exhausted'`;
    expect(JSON.parse(ex!.envelope).data).toMatchObject({ delivery_id: id!, subscriber_id: "s1", attempts: 2 });

    const failures = (await (await a.request("GET", "/api/v1/webhook-failures", { token: TOKEN })).json()) as any;
    expect(failures.failures.map((f: any) => [f.delivery_id, f.status])).toEqual([[id!, "dead"]]);
    const listed = await a.daemon.ctx.capabilities.webhooks!.deliveriesInWindow({ status: "dead", limit: 10 });
    expect(listed.deliveries.map((x) => x.id)).toEqual([id!]);
    // The synchronous views (console backlog, /health section, /metrics) use the counts the engine refreshes.
    await engineOf(a).refresh();
    expect(a.daemon.ctx.capabilities.webhooks!.backlog()).toMatchObject({ dead: 1, waiting: 0 });
    // The feature's /metrics collector and /health section (the rest of those routes is the health feature's).
    const service = (a.daemon.modules.find((m) => m.name === "webhooks") as WebhooksModule).service;
    expect(service.prometheus()).toContain('ferry_webhook_deliveries{subscriber="s1",status="dead"} 1');
    expect(service.healthSection()).toMatchObject({ dead_deliveries: 1 });

    rx.setDefault({ status: 200, body: "ok" });
    const r = await a.request("POST", `/api/v1/deliveries/${id}/retry`, { token: TOKEN });
    expect(r.status).toBe(202);
    const again = await a.request("POST", `/api/v1/deliveries/${id}/retry`, { token: TOKEN });
    expect([202, 409]).toContain(again.status); // 409 while pending; 202 if it was delivered in between
    const done = await waitStatus(a, id!, "delivered");
    expect(done.attempts.map((x: any) => x.outcome)).toEqual(["retry", "dead", "delivered"]);
    expect(new Set(rx.requests.map((q) => q.headers["webhook-id"]))).toEqual(new Set([id!]));
    expect((await a.request("POST", "/api/v1/deliveries/msg_nope/retry", { token: TOKEN })).status).toBe(404);
  });

  test("a 410 disables the subscriber for every node: stored, announced, and no longer fanned out to", async () => {
    const rx = await fake({ reply: { status: 410, body: "gone" } });
    const schema = freshSchema();
    const cfg = (nodeId: string) => configWith(schema, nodeId, [sub("s1", rx.url, { secret: WHSEC, events: ["attempt.*"] }), sub("ops", rx.url.replace("/hook", "/ops"), { events: ["subscriber.*"] })]);
    const a = await node(cfg("node-a"));
    const b = await node(cfg("node-b"));
    rx.reply({ status: 410, body: "gone" }).setDefault({ status: 200, body: "ok" });
    await publish(a, { id: "evt_gone", name: "attempt.started", data: {} });
    const [id] = await deliveryIds(a, "evt_gone");
    const d = await waitStatus(a, id!, "failed");
    expect(d.attempts[0]).toMatchObject({ status_code: 410, outcome: "disabled" });
    // The operational event went to the ops subscriber (and not back to s1).
    const ops = await waitFor(() => rx.requests.find((r) => r.path === "/ops"), 10_000, "subscriber.disabled at the ops subscriber");
    expect(JSON.parse(ops.body)).toMatchObject({ name: "subscriber.disabled", data: { subscriber_id: "s1", delivery_id: id! } });
    const plugins = (await (await a.request("GET", "/api/v1/plugins", { token: TOKEN })).json()) as any;
    expect(plugins.inactive.map((p: any) => p.id)).toEqual(["s1"]);
    // Node B learns it from the table at its next refresh, and fans out no more to s1.
    await engineOf(b).refresh();
    expect(((await (await b.request("GET", "/api/v1/webhook-health", { token: TOKEN })).json()) as any).subscribers.find((s: any) => s.id === "s1").status).toBe("disabled");
    await publish(b, { id: "evt_after", name: "attempt.submitted", data: {} });
    expect(await deliveryIds(b, "evt_after")).toEqual([]);
    const replay = await b.request("POST", `/api/v1/deliveries/${id}/retry`, { token: TOKEN });
    expect(replay.status).toBe(409);
  });

  test("two nodes on one database: a bulk replay wakes both, they share the work and never send a delivery twice", async () => {
    const inFlight = new Map<string, number>();
    let overlaps = 0;
    const rx = await fake({
      reply: async (req: RecordedRequest) => {
        const id = req.headers["webhook-id"]!;
        inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
        if (inFlight.get(id)! > 1) overlaps++;
        await Bun.sleep(15);
        inFlight.set(id, inFlight.get(id)! - 1);
        // First round: every delivery dies (max_attempts 1); after the replay they succeed.
        return new Response("ok", { status: phase === "fail" ? 500 : 200 });
      },
    });
    let phase: "fail" | "ok" = "fail";
    const schema = freshSchema();
    // Each node's config names it in a header of its requests. The breaker stays closed through the first round's failures.
    const cfg = (nodeId: string) =>
      configWith(schema, nodeId, [sub("s1", rx.url, { secret: WHSEC, concurrency: 4, headers: { "X-Node": nodeId }, retry: { max_attempts: 1, backoff: "exponential", base_ms: 100, max_ms: 100, jitter: 0 } })], {}, { circuit_breaker: { failure_threshold: 1000 } });
    const a = await node(cfg("node-a"));
    const b = await node(cfg("node-b"));
    const N = 60;
    await Promise.all(Array.from({ length: N }, (_, i) => publish(a, { id: `evt_two_${i}`, name: "answer.submitted", data: { i } })));
    await waitFor(async () => {
      const { n } = await one<{ n: number }>(a, `SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'dead'`);
      return n === N || null;
    }, 20_000, "every delivery dead");
    rx.requests.length = 0;
    phase = "ok";
    // Replayed through node A: the NOTIFY wakes node B, and both claim (SKIP LOCKED) from the table.
    const r = await a.request("POST", "/api/v1/webhook-failures/retry", { token: TOKEN, body: { status: ["dead"], limit: 1000 } });
    expect(r.status).toBe(202);
    expect(((await r.json()) as any).replayed).toBe(N);
    await waitFor(async () => {
      const { n } = await one<{ n: number }>(a, `SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'delivered'`);
      return n === N || null;
    }, 30_000, "every delivery delivered");
    const ids = rx.requests.map((q) => q.headers["webhook-id"]);
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    expect(overlaps).toBe(0);
    const byNode = new Map<string, number>();
    for (const q of rx.requests) byNode.set(q.headers["x-node"]!, (byNode.get(q.headers["x-node"]!) ?? 0) + 1);
    expect(byNode.get("node-a") ?? 0).toBeGreaterThan(0);
    expect(byNode.get("node-b") ?? 0).toBeGreaterThan(0);
    expect(pgOf(b).notificationsReceived).toBeGreaterThan(0);
    // Each delivery has exactly one attempt record from the replay round (plus the dead one).
    const { n: attempts } = await one<{ n: number }>(a, `SELECT count(*) AS n FROM webhook_attempts WHERE outcome = 'delivered'`);
    expect(attempts).toBe(N);
  });

  test("a node stopping gives its in-flight deliveries back at once: the other node sends them without waiting for the lease", async () => {
    const rx = await fake({ reply: "hang" });
    const schema = freshSchema();
    // A lease of 60 s + 30 s: only the release at shutdown can explain an early second attempt.
    const cfg = (nodeId: string) =>
      configWith(schema, nodeId, [sub("s1", rx.url, { timeout_ms: 60_000, secret: WHSEC, headers: { "X-Node": nodeId } })], { server: { shutdown_timeout: "200ms" } });
    const a = await startFerry(cfg("node-a"));
    let aStopped = false;
    cleanups.push(async () => {
      if (!aStopped) await a.stop();
    });
    const b = await node(cfg("node-b"));
    await publish(a, { id: "evt_stop", name: "attempt.started", data: {} });
    await waitFor(() => rx.requests[0], 10_000, "node A's attempt");
    const [row] = await pgOf(b).sql<{ id: string; lease_until: number }[]>`SELECT id, lease_until FROM webhook_deliveries WHERE event_id = 'evt_stop'`;
    rx.setDefault({ status: 200, body: "ok" });
    await a.stop();
    aStopped = true;
    const second = await waitFor(() => rx.requests[1], 15_000, "node B's attempt");
    expect(second.headers["x-node"]).toBe("node-b");
    expect(second.at).toBeLessThan(row!.lease_until - 30_000);
    expect(second.headers["webhook-id"]).toBe(row!.id);
    const d = await waitStatus(b, row!.id, "delivered");
    // The attempt cut short by the shutdown is not counted.
    expect(d.attempts.map((x: any) => [x.attempt, x.outcome])).toEqual([[1, "delivered"]]);
  });

  test("ferry move-to-postgres carries the webhook tables: a dead delivery from SQLite is replayed on PostgreSQL with its history", async () => {
    const rx = await fake({ reply: { status: 500, body: "sqlite era" } });
    const dir = tempDir();
    const subs = [sub("s1", rx.url, { secret: WHSEC, retry: { max_attempts: 1, backoff: "exponential", base_ms: 100, max_ms: 100, jitter: 0 } })];
    const lite = await startFerry({ auth: { api_tokens: [TOKEN] }, webhooks: { allow_private_targets: true, subscribers: subs } }, { dir });
    await publish(lite, { id: "evt_moved", name: "attempt.submitted", data: { attemptId: "m" } });
    const id = lite.daemon.store.db.prepare("SELECT id FROM webhook_deliveries WHERE event_id = 'evt_moved'").pluck().get() as string;
    await waitFor(async () => (await delivery(lite, id)).status === "dead" || null, 10_000, "the SQLite delivery to die");
    await lite.stop();

    const schema = freshSchema();
    const cfg = configWith(schema, "node-a", subs);
    const configPath = writeConfig(dir, { ...cfg, storage: { ...(cfg.storage as object), path: join(dir, "ferry.db") } });
    const move = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), "move-to-postgres", "--config", configPath], { stdout: "pipe", stderr: "pipe" });
    expect({ code: move.exitCode, stderr: move.stderr.toString() }).toMatchObject({ code: 0, stderr: expect.stringContaining("webhook_deliveries: 1/1 rows") });
    for (const t of ["events", "webhook_deliveries", "webhook_attempts"]) expect(move.stdout.toString()).toMatch(new RegExp(`moved ${t}: \\d+ rows read, \\d+ new`));

    rx.setDefault({ status: 200, body: "pg era" });
    const a = await node(cfg);
    const before = await delivery(a, id);
    expect(before).toMatchObject({ status: "dead", event_id: "evt_moved", payload: { id: "evt_moved" } });
    expect(before.attempts.map((x: any) => x.response)).toEqual(["sqlite era"]);
    expect((await a.request("POST", `/api/v1/deliveries/${id}/retry`, { token: TOKEN })).status).toBe(202);
    const d = await waitStatus(a, id, "delivered");
    expect(d.attempts.map((x: any) => [x.outcome, x.response])).toEqual([
      ["dead", "sqlite era"],
      ["delivered", "pg era"],
    ]);
    // Same id, same body bytes (the event's envelope, stored once), same signature scheme.
    const [old, now] = [rx.requests[0]!, rx.requests.at(-1)!];
    expect(now.headers["webhook-id"]).toBe(old.headers["webhook-id"]);
    expect(now.body).toBe(old.body);
    expect(new Webhook(WHSEC).verify(now.body, now.headers)).toMatchObject({ id: "evt_moved" });
    // The moved event id still deduplicates.
    await publish(a, { id: "evt_moved", name: "attempt.submitted", data: { attemptId: "m" } });
    expect(await deliveryIds(a, "evt_moved")).toEqual([id]);
  });

  test("a delivery leased by a node that is killed mid-attempt is sent by the other node once the lease lapses", async () => {
    const rx = await fake({ reply: "hang" });
    const schema = freshSchema();
    // Lease = timeout (5 s) + queue.lease (1 s): the killed node's lease lapses 6 s after its claim.
    const cfg = (nodeId: string, port = 0) =>
      configWith(schema, nodeId, [sub("s1", rx.url, { secret: WHSEC, timeout_ms: 5000, headers: { "X-Node": nodeId } })], { queue: { lease: "1s" }, server: { host: "127.0.0.1", port } });
    // The node that dies: the compiled binary in its own process, SIGKILLed mid-attempt.
    const port = freePort();
    const dir = tempDir();
    const child = Bun.spawn([await ensureBinary(), "serve", "--config", writeConfig(dir, cfg("node-killed", port))], { stdout: "ignore", stderr: "pipe" });
    cleanups.push(async () => {
      child.kill("SIGKILL");
      await child.exited;
    });
    const childUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`ferry exited: ${await new Response(child.stderr).text()}`);
        return (await fetch(`${childUrl}/api/v1/plugins`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => null))?.status === 200 || null;
      },
      30_000,
      "the child ferry to listen",
    );
    const b = await node(cfg("node-b"));

    expect((await publish({ url: childUrl }, { id: "evt_kill", name: "attempt.submitted", data: { attemptId: "k" } })).status).toBe(202);
    const first = await waitFor(() => rx.requests[0], 10_000, "the killed node's attempt");
    expect(first.headers["x-node"]).toBe("node-killed");
    const [row] = await pgOf(b).sql<{ id: string; lease_until: number; lease_token: string }[]>`SELECT id, lease_until, lease_token FROM webhook_deliveries WHERE event_id = 'evt_kill'`;
    expect(row!.lease_token).not.toBeNull();
    child.kill("SIGKILL");
    await child.exited;

    rx.setDefault({ status: 200, body: "ok" });
    const second = await waitFor(() => rx.requests[1], 20_000, "node B's attempt after the lease lapsed");
    expect(second.headers["x-node"]).toBe("node-b");
    expect(second.at).toBeGreaterThanOrEqual(row!.lease_until - 50); // never while the killed node's lease held
    expect(second.headers["webhook-id"]).toBe(row!.id); // at least once, same webhook-id
    expect(second.headers["x-delivery-attempt"]).toBe("1"); // the killed attempt was never recorded
    expect(new Webhook(WHSEC).verify(second.body, second.headers)).toMatchObject({ id: "evt_kill" });
    const d = await waitStatus(b, row!.id, "delivered");
    expect(d.attempts).toHaveLength(1);
    await Bun.sleep(500);
    expect(rx.requests).toHaveLength(2);
  });
});
