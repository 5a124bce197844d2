// recommendations.rebuild on a PostgreSQL cluster: whichever node runs the job, each course is
// rebuilt by its shard's owner (the only node holding its model) and the item reports that
// owner's outcome; a request stored for an owner that dies before doing it is done by the
// shard's next owner. A Q-table read on a non-owner names the owner.
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { join } from "node:path";
import { shardOfCourse } from "../../src/cluster/rendezvous";
import { freePort, jsonRequest, spawnFerry, startFerry, tempDir, writeConfig, type ChildFerry, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { API_TOKEN, BASE_CONFIG, MOODLE_TOKEN } from "../moodle/fixtures";
import { structure, visit, type SynthActivity } from "./synthetic";

const reason = pgUnavailable();
if (reason) console.log(`recommender rebuild PostgreSQL tests skipped: ${reason}`);
const it = reason ? test.skip : test;

const SHARDS = 8;
let cluster: PgCluster | null = null;
let dbs = 0;
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  await cluster?.stop();
});

async function freshDb(): Promise<string> {
  cluster ??= await startPgCluster();
  return cluster.createDatabase(`rebuild_${process.pid}_${++dbs}`);
}

const CONFIG = { ...BASE_CONFIG, recommender: { batch_size: 20000 } };
const clusterConfig = (nodeId: string) => ({ node_id: nodeId, shards: SHARDS, heartbeat: "250ms", leader_ttl: "1500ms" });
const storageOf = (url: string) => ({ driver: "postgres", url, schema: "ferry" });

async function node(url: string, nodeId: string, recommender: Record<string, unknown> = {}): Promise<TestFerry> {
  const f = await startFerry({ ...CONFIG, recommender: { ...CONFIG.recommender, ...recommender }, storage: storageOf(url), cluster: clusterConfig(nodeId) });
  cleanup.push(() => f.stop());
  return f;
}

/** A ferry node as a child process (`bun src/main.ts serve`), so the test can freeze and kill it. */
async function childNode(url: string, nodeId: string): Promise<ChildFerry> {
  const port = freePort();
  const dir = tempDir();
  const configPath = writeConfig(dir, { ...CONFIG, server: { port }, storage: { ...storageOf(url), path: join(dir, "x.db") }, cluster: clusterConfig(nodeId) });
  const child = await spawnFerry(configPath, port, { source: true });
  cleanup.push(() => child.proc.exitCode === null && child.kill("SIGKILL"));
  return child;
}

async function until<T>(what: string, check: () => Promise<T | null | false | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

function lessonsOf(c: number): SynthActivity[][] {
  const kinds: SynthActivity["modname"][] = ["resource", "hvp", "forum"];
  return [0, 1].map((l) => kinds.map((m, i) => ({ cmid: c * 100 + l * 10 + i, modname: m, name: `L${l + 1} ${m}` })));
}

const USERS = [1001, 1002, 1003, 1004, 1005];

/** Structure and events of `course` (every user visits every activity), posted to `base`. */
async function teach(base: string, course: number): Promise<void> {
  const post = (path: string, body: unknown) => jsonRequest(base, "POST", path, { body, headers: { "x-moodle-token": MOODLE_TOKEN } });
  const lessons = lessonsOf(course);
  expect((await post(`/api/v1/courses/${course}/structure`, structure(course, lessons))).status).toBe(200);
  const logs = [];
  let t = 1_763_000_000;
  for (const u of USERS) for (const act of lessons.flat()) logs.push(visit(course, u, act, t++));
  expect((await post("/webhook/moodle-events", { logs })).status).toBe(202);
}

/** A course whose shard is in `owned` (searched from `from` up). */
function courseIn(owned: number[], from: number): number {
  for (let c = from; ; c++) if (owned.includes(shardOfCourse(c, SHARDS))) return c;
}

type Answer = { user_id: number; course_id: number; module_id: number; k: number; body: string; full: string; generated_at: number };

/** Stored answers of a course without their time of generation. */
function comparable(rows: readonly Answer[]) {
  const strip = (t: string) => {
    const o = JSON.parse(t);
    delete o.generated_at;
    return o;
  };
  return rows.map((r) => ({ user_id: r.user_id, module_id: r.module_id, k: r.k, body: strip(r.body), full: strip(r.full) })).sort((a, b) => a.user_id - b.user_id || a.module_id - b.module_id);
}

async function runJob(base: string, items: unknown[]): Promise<Array<{ status: string; result: any; error: string | null }>> {
  const posted = await jsonRequest(base, "POST", "/api/v1/jobs", { token: API_TOKEN, body: { type: "recommendations.rebuild", items } });
  expect(posted.status).toBe(202);
  const { job_id } = (await posted.json()) as any;
  await until(`job ${job_id}`, async () => {
    const s = (await (await jsonRequest(base, "GET", `/api/v1/jobs/${job_id}/status`, { token: API_TOKEN })).json()) as any;
    return s.status === "completed" || s.status === "failed" ? s : null;
  }, 60_000);
  const r = (await (await jsonRequest(base, "GET", `/api/v1/jobs/${job_id}/results?limit=100`, { token: API_TOKEN })).json()) as any;
  return r.results;
}

describe("recommendations.rebuild on PostgreSQL: done by each course's shard owner", () => {
  it("asked of the non-owner (directly and as a job), the owner rebuilds; a user's rebuild covers courses on both nodes; qtable 404 names the owner", async () => {
    const url = await freshDb();
    const a = await node(url, "node-a");
    const b = await node(url, "node-b");
    const owned = await until("an even split", async () => {
      const sa = a.daemon.ctx.cluster.shards.ownedShards();
      const sb = b.daemon.ctx.cluster.shards.ownedShards();
      return sa.length > 0 && sb.length > 0 && sa.length + sb.length === SHARDS && !sa.some((s) => sb.includes(s)) ? { a: sa, b: sb } : null;
    });
    const ca = courseIn(owned.a, 100);
    const cb = courseIn(owned.b, 100);
    for (const c of [ca, cb]) await teach(a.url, c);
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    cleanup.push(() => sql.end());
    await until("both pipelines", async () => Number((await sql`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n) === 0);
    const answers = (c: number) => sql<Answer[]>`SELECT user_id, course_id, module_id, k, body, "full", generated_at FROM recommendations WHERE course_id = ${c}`;
    const statesOf = async (c: number) => Number((await sql`SELECT count(*) AS n FROM user_states WHERE course_id = ${c}`)[0]!.n);
    const before = { [ca]: comparable(await answers(ca)), [cb]: comparable(await answers(cb)) };
    expect(before[cb]!.length).toBeGreaterThan(0);
    expect(await statesOf(cb)).toBe(before[cb]!.length);

    // Node A owns ca, not cb: asked for cb it has node B do it, and answers with B's count.
    await sql`DELETE FROM recommendations WHERE course_id = ${cb}`;
    const t0 = performance.now();
    const direct = await a.daemon.ctx.capabilities.recommendationsRebuild!({ course_id: cb });
    console.log(`rebuild of course ${cb} (${before[cb]!.length} answers) asked of node-a, done by its owner node-b: ${Math.round(performance.now() - t0)} ms`);
    expect(direct).toEqual({ refreshed: before[cb]!.length });
    expect(comparable(await answers(cb))).toEqual(before[cb]!);
    const req = await sql`SELECT course_id, done_at, refreshed FROM recommender_rebuilds`;
    expect(req.map((r) => [Number(r.course_id), r.done_at !== null, r.refreshed])).toEqual([[cb, true, before[cb]!.length]]);

    // A user's module in each node's course, asked of A: both found, wherever their owner runs.
    const moduleOf = async (c: number) => Number((await sql`SELECT module_id FROM user_states WHERE user_id = ${USERS[0]!} AND course_id = ${c} ORDER BY module_id LIMIT 1`)[0]!.module_id);
    const [ma, mb] = [await moduleOf(ca), await moduleOf(cb)];
    await sql`DELETE FROM recommendations WHERE user_id = ${USERS[0]!}`;
    expect(await a.daemon.ctx.capabilities.recommendationsRebuild!({ user_id: USERS[0]!, module_id: mb })).toEqual({ refreshed: 1 });
    expect(await b.daemon.ctx.capabilities.recommendationsRebuild!({ user_id: USERS[0]!, module_id: ma })).toEqual({ refreshed: 1 });
    expect((await sql`SELECT course_id FROM recommendations WHERE user_id = ${USERS[0]!} ORDER BY course_id`).map((r) => Number(r.course_id))).toEqual([ca, cb].sort((x, y) => x - y));

    // As jobs posted to each node (either node's workers may claim them): every item is the owner's true outcome.
    for (const f of [a, b]) {
      const t0 = Date.now();
      await sql`DELETE FROM recommendations WHERE course_id IN (${ca}, ${cb})`;
      const results = await runJob(f.url, [{ course_id: ca }, { course_id: cb }, { user_id: USERS[1]!, module_id: ma }, { user_id: USERS[1]!, module_id: mb }]);
      expect(results.map((r) => [r.status, r.result, r.error])).toEqual([
        ["completed", { refreshed: before[ca]!.length }, null],
        ["completed", { refreshed: before[cb]!.length }, null],
        ["completed", { refreshed: 1 }, null],
        ["completed", { refreshed: 1 }, null],
      ]);
      for (const c of [ca, cb]) {
        const rows = await answers(c);
        expect(comparable(rows)).toEqual(before[c]!);
        expect(rows.every((r) => r.generated_at >= t0)).toBe(true);
      }
    }

    // The live Q-table is the owner's: the other node's 404 says which node that is.
    const refused = await a.request("GET", `/api/v1/recommender/qtable?course_id=${cb}`, { token: API_TOKEN });
    expect(refused.status).toBe(404);
    const body = (await refused.json()) as any;
    expect(body.error.code).toBe("not_found");
    expect(body.error.message).toContain(`node "node-b"`);
    expect(body.error.details).toEqual({ course_id: cb, shard: shardOfCourse(cb, SHARDS), owner_node_id: "node-b" });
    expect((await b.request("GET", `/api/v1/recommender/qtable?course_id=${cb}`, { token: API_TOKEN })).status).toBe(200);
  }, 120_000);

  it("a rebuild stored for an owner that is stopped before doing it is done by the shard's next owner", async () => {
    const url = await freshDb();
    const a = await node(url, "node-a");
    const b = await childNode(url, "node-b");
    const ownedByB = await until("node-b holding shards", async () => {
      const mine = a.daemon.ctx.cluster.shards.ownedShards();
      return mine.length > 0 && mine.length < SHARDS ? Array.from({ length: SHARDS }, (_, s) => s).filter((s) => !mine.includes(s)) : null;
    });
    const cb = courseIn(ownedByB, 100);
    await teach(a.url, cb);
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    cleanup.push(() => sql.end());
    await until("node-b learned its course", async () => Number((await sql`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n) === 0);
    const expected = Number((await sql`SELECT count(*) AS n FROM user_states WHERE course_id = ${cb}`)[0]!.n);
    expect(expected).toBeGreaterThan(0);
    await sql`DELETE FROM recommendations WHERE course_id = ${cb}`;

    // B freezes (it holds its leases until they run out); A takes the job and stores the request for B.
    b.proc.kill("SIGSTOP");
    const job = runJob(a.url, [{ course_id: cb }]);
    await until("the stored request", async () => (await sql`SELECT 1 FROM recommender_rebuilds WHERE course_id = ${cb} AND done_at IS NULL`).length === 1);
    await Bun.sleep(300);
    expect((await sql`SELECT 1 FROM recommender_rebuilds WHERE done_at IS NOT NULL`).length).toBe(0);
    await b.kill("SIGKILL");

    // A takes B's shards when their leases expire, and does the request left for B.
    const results = await job;
    expect(results.map((r) => [r.status, r.result, r.error])).toEqual([["completed", { refreshed: expected }, null]]);
    expect(a.daemon.ctx.cluster.shards.ownedShards()).toContain(shardOfCourse(cb, SHARDS));
    expect(Number((await sql`SELECT count(*) AS n FROM recommendations WHERE course_id = ${cb}`)[0]!.n)).toBe(expected);
    expect((await sql`SELECT refreshed FROM recommender_rebuilds WHERE course_id = ${cb}`).map((r) => r.refreshed)).toEqual([expected]);
  }, 120_000);

  it("past recommender.rebuild_wait the item is accepted with its stored request, which the shard's next owner does", async () => {
    const url = await freshDb();
    const a = await node(url, "node-a", { rebuild_wait: "1s" });
    const b = await childNode(url, "node-b");
    const ownedByB = await until("node-b holding shards", async () => {
      const mine = a.daemon.ctx.cluster.shards.ownedShards();
      return mine.length > 0 && mine.length < SHARDS ? Array.from({ length: SHARDS }, (_, s) => s).filter((s) => !mine.includes(s)) : null;
    });
    const cb = courseIn(ownedByB, 100);
    await teach(a.url, cb);
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    cleanup.push(() => sql.end());
    await until("node-b learned its course", async () => Number((await sql`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n) === 0);
    const expected = Number((await sql`SELECT count(*) AS n FROM user_states WHERE course_id = ${cb}`)[0]!.n);
    await sql`DELETE FROM recommendations WHERE course_id = ${cb}`;

    b.proc.kill("SIGSTOP");
    const t0 = performance.now();
    const out = (await a.daemon.ctx.capabilities.recommendationsRebuild!({ course_id: cb })) as any;
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(10_000);
    const [row] = await sql`SELECT id, done_at FROM recommender_rebuilds WHERE course_id = ${cb}`;
    expect(row!.done_at).toBeNull();
    expect(out).toMatchObject({ refreshed: 0, status: "accepted", pending: [{ rebuild_id: Number(row!.id), course_id: cb, shard: shardOfCourse(cb, SHARDS) }] });
    expect(out.message).toContain("rebuild_wait");

    await b.kill("SIGKILL");
    const done = await until("the request done by the next owner", async () => (await sql`SELECT refreshed FROM recommender_rebuilds WHERE id = ${row!.id} AND done_at IS NOT NULL`)[0]);
    expect(done.refreshed).toBe(expected);
    expect(Number((await sql`SELECT count(*) AS n FROM recommendations WHERE course_id = ${cb}`)[0]!.n)).toBe(expected);
  }, 120_000);
});
