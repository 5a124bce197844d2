// The jobs API on PostgreSQL through two real ferry nodes on one throwaway PostgreSQL: a signed
// webhooks.replay job created on one node runs (on either), answers on both, and its completion
// webhook arrives signed; identical signed requests sent to both nodes at once make one job; a
// legacy-signed request re-aimed answers the first job; failed jobs publish job.failed.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import postgres from "postgres";
import { FakeSubscriber } from "../fakes/subscriber";
import { startFerry, waitFor, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { sub, TOKEN, waitStatus } from "../webhooks/helpers";

import { webhooksPgMigrations } from "../../src/modules/webhooks/migrations";

// The jobs API on PostgreSQL needs the webhooks feature there too (the composition root leaves jobs
// out without it): until its PostgreSQL tables exist in this tree, these tests cannot run.
const reason = pgUnavailable() ?? (webhooksPgMigrations.length === 0 ? "the webhooks feature has no PostgreSQL implementation in this tree (jobs needs it)" : null);
if (reason) console.log(`jobs API PostgreSQL tests skipped: ${reason}`);
const pgTest = reason ? test.skip : test;

const SECRET = "jobs-pg-shared-secret";
const sign = (raw: string) => createHmac("sha256", SECRET).update(raw).digest("hex");

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

async function fake(opts: Parameters<typeof FakeSubscriber.start>[0] = {}): Promise<FakeSubscriber> {
  const f = await FakeSubscriber.start(opts);
  cleanups.push(() => f.stop());
  return f;
}

/** Two nodes on a fresh schema, with the same subscribers and jobs config. */
async function twoNodes(subscribers: unknown[], jobs: Record<string, unknown> = {}) {
  const schema = `jobs${++schemas}_${process.pid}`;
  const nodes: TestFerry[] = [];
  for (const id of ["node-a", "node-b"]) {
    const f = await startFerry({
      auth: { api_tokens: [TOKEN] },
      storage: { driver: "postgres", url: cluster!.url, schema, pool: 4 },
      cluster: { node_id: id, heartbeat: "200ms", leader_ttl: "1s", shards: 8 },
      webhooks: { allow_private_targets: true, subscribers },
      jobs: { secret: SECRET, ...jobs },
    });
    cleanups.push(() => f.stop());
    nodes.push(f);
  }
  const sql = postgres(cluster!.url, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
  cleanups.push(() => sql.end({ timeout: 1 }));
  return { a: nodes[0]!, b: nodes[1]!, sql };
}

function submit(f: TestFerry, body: Record<string, unknown>): Promise<Response> {
  const raw = JSON.stringify(body);
  return f.request("POST", "/api/v1/jobs", { body: raw, headers: { "x-signature": sign(raw) } });
}
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();
const status = (f: TestFerry, id: string) => json(f.request("GET", `/api/v1/jobs/${id}/status`, { token: TOKEN }));

/** `n` dead deliveries (the receiver answers 400), published through `f`. */
async function deadDeliveries(f: TestFerry, sql: postgres.Sql, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await f.request("POST", "/api/v1/events", { token: TOKEN, body: { id: `evt_pgjob_${i}`, name: "attempt.started", data: { attemptId: `a${i}` } } });
    expect(r.status).toBeLessThan(300);
    const [row] = await sql<{ id: string }[]>`SELECT id FROM webhook_deliveries WHERE event_id = ${`evt_pgjob_${i}`}`;
    await waitStatus(f, row!.id, "failed");
    ids.push(row!.id);
  }
  return ids;
}

describe("jobs API on PostgreSQL, two nodes", () => {
  pgTest("a webhooks.replay job made on one node runs, both nodes answer it, its completion webhook arrives signed, job.completed is published", async () => {
    const rx = await fake({ reply: { status: 400 } });
    const hook = await fake();
    const ops = await fake();
    const { a, b, sql } = await twoNodes([sub("s", rx.url, { events: ["attempt.*"] }), sub("ops", ops.url, { events: ["job.*"] })]);
    const ids = await deadDeliveries(a, sql, 2);
    rx.setDefault({ status: 200 });

    const r = await submit(b, { type: "webhooks.replay", items: ids, webhook_url: hook.url });
    expect(r.status).toBe(202);
    const accepted = await json(r);
    expect(accepted).toEqual({
      job_id: expect.stringMatching(/^job_/),
      status: "queued",
      total_lots: 2,
      status_url: `${b.url}/api/v1/jobs/${accepted.job_id}/status`,
      results_url: `${b.url}/api/v1/jobs/${accepted.job_id}/results`,
    });
    // 202 means on disk: the other node reads it at once.
    expect((await status(a, accepted.job_id)).job_id).toBe(accepted.job_id);

    const [req] = await hook.waitForRequests(1);
    const body = JSON.parse(req!.body);
    expect(Object.keys(body).sort()).toEqual(["completed_lots", "failed_lots", "job_id", "results_available", "status", "timestamp", "total_lots", "webhook_url"]);
    expect(body).toMatchObject({ job_id: accepted.job_id, status: "completed", total_lots: 2, completed_lots: 2, failed_lots: 0, webhook_url: hook.url, results_available: true });
    expect(req!.headers["x-signature"]).toBe(sign(req!.body));
    for (const d of ids) await waitStatus(b, d, "delivered");
    // Each replayed delivery was sent once more (after its 400), not once per node.
    await Bun.sleep(300);
    for (const i of [0, 1]) expect(rx.requests.filter((q) => q.headers["x-event-id"] === `evt_pgjob_${i}`)).toHaveLength(2);

    for (const n of [a, b]) {
      const st = await status(n, accepted.job_id);
      expect(st).toMatchObject({ job_id: accepted.job_id, type: "webhooks.replay", status: "completed", total_lots: 2, completed_lots: 2, failed_lots: 0 });
      expect(st.webhook_delivery_id).toMatch(/^msg_/);
      expect(st.started_at).not.toBeNull();
      expect(st.finished_at).not.toBeNull();
    }
    const page1 = await json(a.request("GET", `/api/v1/jobs/${accepted.job_id}/results?limit=1`, { token: TOKEN }));
    expect(page1).toMatchObject({ total: 2, offset: 0, limit: 1, next_offset: 1, results: [{ index: 0, status: "completed", result: { replayed: true }, error: null }] });
    const page2 = await json(b.request("GET", `/api/v1/jobs/${accepted.job_id}/results?offset=1&limit=1`, { token: TOKEN }));
    expect(page2).toMatchObject({ next_offset: null, results: [{ index: 1, status: "completed" }] });
    const [evt] = await ops.waitForRequests(1);
    expect(JSON.parse(evt!.body)).toMatchObject({ name: "job.completed", data: { job_id: accepted.job_id, status: "completed" } });
    // The queue job ran once.
    const [q] = await sql<{ status: string; attempts: number }[]>`SELECT status, attempts FROM jobs WHERE kind = 'api.job' AND dedupe_key = ${`api.job:${accepted.job_id}`}`;
    expect(q).toEqual({ status: "done", attempts: 1 });
    expect((await a.request("GET", "/api/v1/jobs/job_nope/status", { token: TOKEN })).status).toBe(404);
  }, 60_000);

  pgTest("identical signed requests on both nodes at once make one job; a re-aimed legacy request answers the first; bad requests are 4xx", async () => {
    const hook = await fake();
    const { a, b, sql } = await twoNodes([], { allowed_webhook_hosts: ["127.0.0.1"] });
    const raw = JSON.stringify({ type: "webhooks.replay", items: ["msg_missing_1", "msg_missing_2"], webhook_url: hook.url });
    const send = (n: TestFerry) => n.request("POST", "/api/v1/jobs", { body: raw, headers: { "x-signature": sign(raw) } });
    const answers = await Promise.all([send(a), send(b), send(a), send(b)].map(json));
    const ids = new Set(answers.map((x) => x.job_id));
    expect(ids.size).toBe(1);
    expect(answers.filter((x) => !x.duplicate)).toHaveLength(1);
    expect((await sql`SELECT id FROM api_jobs`).length).toBe(1);
    expect((await sql`SELECT 1 FROM jobs WHERE kind = 'api.job'`).length).toBe(1);

    // Both items are unknown deliveries: the job fails, the completion webhook says so.
    const [req] = await hook.waitForRequests(1);
    expect(JSON.parse(req!.body)).toMatchObject({ job_id: [...ids][0], status: "failed", completed_lots: 0, failed_lots: 2 });
    const res = await json(b.request("GET", `/api/v1/jobs/${[...ids][0]}/results`, { token: TOKEN }));
    expect(res.results.map((x: any) => x.error)).toEqual(["no delivery msg_missing_1", "no delivery msg_missing_2"]);

    // Legacy body signature (items only): the same items re-aimed elsewhere answer the first job.
    const lots = ["msg_missing_9"];
    const legacy = (n: TestFerry, url: string) =>
      json(n.request("POST", "/api/v1/jobs", { body: { type: "webhooks.replay", lots, webhook_url: url, signature: sign(JSON.stringify(lots)) } }));
    const first = await legacy(a, hook.url);
    const again = await legacy(b, "https://attacker.example/collect");
    expect(again).toMatchObject({ job_id: first.job_id, duplicate: true });

    // Bad input on PostgreSQL is the same 4xx as on SQLite, and writes nothing.
    expect((await a.request("POST", "/api/v1/jobs", { body: { type: "webhooks.replay", items: ["x"] } })).status).toBe(401);
    const unknown = await submit(b, { type: "nope", items: [1] });
    expect(unknown.status).toBe(422);
    expect((await json(unknown)).error.message).toContain("moodle.import, recommendations.rebuild, webhooks.replay");
    const noItems = await submit(a, { type: "webhooks.replay" });
    expect(noItems.status).toBe(422);
    expect((await sql`SELECT id FROM api_jobs`).length).toBe(2);
    await waitFor(async () => (await sql`SELECT 1 FROM api_jobs WHERE finished_at IS NULL`).length === 0, 15_000, "every job finished");
  }, 60_000);

  pgTest("after jobs.replay_window the same signed request makes a new job (the expired key is claimed again)", async () => {
    const { a, b, sql } = await twoNodes([], { replay_window: "1s" });
    const body = { type: "webhooks.replay", items: ["msg_missing_w"] };
    const first = await json(submit(a, body));
    expect((await json(submit(b, body))).job_id).toBe(first.job_id);
    await Bun.sleep(1200);
    const later = await json(submit(b, body));
    expect(later.job_id).not.toBe(first.job_id);
    expect(later.duplicate).toBeUndefined();
    // The key now names the new job: a repeat within the new window answers it.
    expect((await json(submit(a, body))).job_id).toBe(later.job_id);
    expect((await sql`SELECT id FROM api_jobs`).length).toBe(2);
    expect([...(await sql`SELECT job_id FROM api_job_requests`)]).toEqual([{ job_id: later.job_id }]);
  }, 60_000);

  pgTest("moodle.import and recommendations.rebuild jobs run on PostgreSQL through the other features' pipelines", async () => {
    const hook = await fake();
    const { a, b, sql } = await twoNodes([]);
    const row = {
      id: 9001, eventname: "\\core\\event\\course_viewed", component: "core", action: "viewed", target: "course", objecttable: null, objectid: null,
      crud: "r", edulevel: 2, contextid: 14, contextlevel: 50, contextinstanceid: 2, userid: 5, courseid: 2, relateduserid: null, anonymous: 0,
      other: null, timecreated: 1761056831, origin: "web", ip: null, realuserid: null,
    };
    const imported = await json(submit(a, { type: "moodle.import", items: [row, { nonsense: true }], webhook_url: hook.url }));
    const [req] = await hook.waitForRequests(1);
    expect(JSON.parse(req!.body)).toMatchObject({ job_id: imported.job_id, status: "partially_completed", completed_lots: 1, failed_lots: 1 });
    const res = await json(b.request("GET", `/api/v1/jobs/${imported.job_id}/results`, { token: TOKEN }));
    expect(res.results.map((r: any) => r.status)).toEqual(["completed", "failed"]);
    expect(res.results[1].error.length).toBeGreaterThan(5);
    // The row went through the live pipeline into the shared tables.
    expect((await sql`SELECT 1 FROM log_events WHERE userid = 5 AND courseid = 2 AND eventname = '\\core\\event\\course_viewed'`).length).toBe(1);

    // A rebuild runs where the course's shard is owned (the recommender's rule on PostgreSQL; the
    // jobs API cannot pick the node that claims its job): with b stopped, a owns every shard.
    await b.stop();
    await waitFor(async () => ((await json(a.request("GET", "/health"))).cluster.owned_shards.length === 8 ? true : null), 15_000, "node a owning every shard");
    const rebuilt = await json(submit(a, { type: "recommendations.rebuild", items: [{ course_id: 2 }] }));
    await waitFor(async () => (await status(a, rebuilt.job_id)).finished_at !== null, 15_000, "the rebuild job finished");
    expect(await status(a, rebuilt.job_id)).toMatchObject({ type: "recommendations.rebuild", status: "completed", completed_lots: 1, failed_lots: 0 });
    const r = await json(a.request("GET", `/api/v1/jobs/${rebuilt.job_id}/results`, { token: TOKEN }));
    expect(r.results[0]).toMatchObject({ status: "completed", result: { refreshed: expect.any(Number) }, error: null });
  }, 60_000);
});
