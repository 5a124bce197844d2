// Failover of the recommender between two compiled ferry binaries on one PostgreSQL: SIGKILL the
// owner of a course's shard mid-stream; the survivor accepts the course's next events at once,
// takes the dead node's shards when their leases run out, restores their Q-tables (snapshot +
// replay) and processes the backlog — ending with the Q-table and stored answers of a single
// node fed the same events, no acknowledged event lost, none learned from twice.
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { join } from "node:path";
import { shardOfCourse } from "../../src/cluster/rendezvous";
import { ensureBinary, freePort, jsonRequest, startFerry, tempDir, writeConfig, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { API_TOKEN, BASE_CONFIG, MOODLE_TOKEN } from "../moodle/fixtures";
import { graded, rng, structure, visit, type SynthActivity } from "./synthetic";

const reason = pgUnavailable();
if (reason) console.log(`recommender failover test skipped: ${reason}`);
const it = reason ? test.skip : test;

const SHARDS = 8;
let cluster: PgCluster | null = null;
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  await cluster?.stop();
});

const CONFIG = { ...BASE_CONFIG, server: { body_limit: "8mb" }, recommender: { batch_size: 20000, snapshot_every: "1s" } };
const clusterConfig = (nodeId: string) => ({ node_id: nodeId, shards: SHARDS, heartbeat: "200ms", leader_ttl: "1200ms" });

/** The compiled binary as a child, ready once it answers an authenticated read (its /health is another feature's). */
async function spawnNode(url: string, nodeId: string): Promise<{ proc: Bun.Subprocess; base: string; output: () => string }> {
  const port = freePort();
  const dir = tempDir();
  const configPath = writeConfig(dir, { ...CONFIG, server: { ...CONFIG.server, port }, storage: { driver: "postgres", url, schema: "ferry", path: join(dir, "x.db") }, cluster: clusterConfig(nodeId) });
  const proc = Bun.spawn([await ensureBinary(), "serve", "--config", configPath], { stdout: "pipe", stderr: "pipe" });
  cleanup.push(() => proc.exitCode === null && proc.kill("SIGKILL"));
  let out = "";
  void (async () => {
    for await (const c of proc.stderr as ReadableStream<Uint8Array>) out += new TextDecoder().decode(c);
  })();
  const base = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${nodeId} exited ${proc.exitCode}: ${out}`);
    const ok = await fetch(`${base}/api/v1/recommendations/1`, { headers: { authorization: `Bearer ${API_TOKEN}` } }).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > end) throw new Error(`${nodeId} not ready: ${out}`);
    await Bun.sleep(50);
  }
  return { proc, base, output: () => out };
}

function lessonsOf(c: number): SynthActivity[][] {
  const kinds: SynthActivity["modname"][] = ["resource", "quiz", "hvp", "quiz"];
  return [0, 1].map((l) => kinds.map((m, i) => ({ cmid: c * 100 + l * 10 + i, modname: m, name: `L${l + 1} ${m} ${i}` })));
}

/** A course's events in time order, in two halves. */
function halves(c: number, seed: number) {
  const order = lessonsOf(c).flat();
  const random = rng(seed);
  const rows: Array<Record<string, string | null>> = [];
  let t = 1_766_000_000;
  for (let u = 0; u < 15; u++) {
    let i = 0;
    for (let step = 0; step < 10 && i < order.length; step++) {
      const a = order[i]!;
      rows.push(visit(c, 700 + u, a, (t += 40)));
      if (a.modname === "quiz") rows.push(graded(c, 700 + u, a, Math.round(3 + random() * 7), (t += 5)));
      i += random() < 0.8 ? 1 : 2;
    }
  }
  const h = Math.ceil(rows.length / 2);
  return [rows.slice(0, h), rows.slice(h)] as const;
}

const post = (base: string, path: string, body: unknown) => jsonRequest(base, "POST", path, { body, headers: { "x-moodle-token": MOODLE_TOKEN } });
const get = async (base: string, path: string) => (await jsonRequest(base, "GET", path, { token: API_TOKEN })).json() as Promise<any>;

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

describe("recommender failover on PostgreSQL (compiled binary, SIGKILL)", () => {
  it("the survivor takes the killed owner's course: same Q-table and answers as one node, nothing lost or learned twice", async () => {
    cluster = await startPgCluster();
    const url = await cluster.createDatabase("failover");
    const sql = postgres(url, { max: 2, onnotice: () => {}, connection: { search_path: "ferry" } });
    cleanup.push(() => sql.end());
    const n1 = await spawnNode(url, "n1");
    const n2 = await spawnNode(url, "n2");
    const leases = async () => (await sql`SELECT shard, node_id FROM shard_leases WHERE expires_at > ${Date.now()}`).map((r) => ({ shard: Number(r.shard), node: r.node_id as string }));
    await until("the shards split between n1 and n2", async () => {
      const l = await leases();
      return l.length === SHARDS && l.some((x) => x.node === "n1") && l.some((x) => x.node === "n2");
    });
    const split = await leases();
    const ownerOf = (c: number) => split.find((x) => x.shard === shardOfCourse(c, SHARDS))!.node;
    let course = 300;
    while (ownerOf(course) !== "n2") course++;
    const [first, second] = halves(course, 11);

    // The reference: one node fed the same two batches.
    const refUrl = await cluster.createDatabase("failover_ref");
    const ref: TestFerry = await startFerry({ ...CONFIG, storage: { driver: "postgres", url: refUrl, schema: "ferry" }, cluster: clusterConfig("ref") });
    cleanup.push(() => ref.stop());
    const refSql = postgres(refUrl, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    cleanup.push(() => refSql.end());
    const pendingIn = async (s: typeof sql) => Number((await s`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n);
    expect((await post(ref.url, `/api/v1/courses/${course}/structure`, structure(course, lessonsOf(course)))).status).toBe(200);
    for (const batch of [first, second]) {
      expect((await post(ref.url, "/webhook/moodle-events", { logs: batch })).status).toBe(202);
      await until("the reference's pipeline", async () => (await pendingIn(refSql)) === 0);
    }

    // The cluster: the course's first half goes in through n1 and is learned by n2 (its owner).
    expect((await post(n1.base, `/api/v1/courses/${course}/structure`, structure(course, lessonsOf(course)))).status).toBe(200);
    expect((await post(n1.base, "/webhook/moodle-events", { logs: first })).status).toBe(202);
    await until("n2 processed the first half", async () => (await pendingIn(sql)) === 0);
    // n2's snapshot service runs every second: the takeover restores from n2's snapshot of the shard.
    await until("n2's snapshot of the shard", async () => (await sql`SELECT 1 FROM qtable_snapshots WHERE shard = ${shardOfCourse(course, SHARDS)}`).length > 0, 10_000);

    n2.proc.kill("SIGKILL");
    await n2.proc.exited;
    const killedAt = performance.now();
    // The survivor accepts the dead owner's course at once (202 = committed)…
    const r = await post(n1.base, "/webhook/moodle-events", { logs: second });
    expect(r.status).toBe(202);
    expect(((await r.json()) as any).accepted).toBe(second.length);
    // …and learns it once n2's leases ran out and n1 took its shards.
    await until("n1 took over and processed the second half", async () => (await pendingIn(sql)) === 0, 30_000);
    const tookMs = Math.round(performance.now() - killedAt);
    console.log(`SIGKILL of the owner → survivor processed its course's new events: ${tookMs} ms (leader_ttl 1200ms, heartbeat 200ms)`);
    expect((await leases()).every((l) => l.node === "n1")).toBe(true);

    const q1 = await get(n1.base, `/api/v1/recommender/qtable?course_id=${course}`);
    const qr = await get(ref.url, `/api/v1/recommender/qtable?course_id=${course}`);
    expect(q1.updates).toBeGreaterThan(20);
    expect(q1.states).toEqual(qr.states);
    expect(q1.updates).toBe(qr.updates);
    const answers = async (s: typeof sql) =>
      (await s`SELECT user_id::int AS u, module_id::int AS m, body FROM recommendations ORDER BY user_id, module_id`).map((x) => ({ u: x.u, m: x.m, body: { ...JSON.parse(x.body), generated_at: null } }));
    expect(await answers(sql)).toEqual(await answers(refSql));
    // No acknowledged event lost, none learned from twice.
    expect(Number((await sql`SELECT count(*) AS n FROM log_events`)[0]!.n)).toBe(first.length + second.length);
    const hist = async (s: typeof sql) => Number((await s`SELECT count(*) AS n FROM state_history`)[0]!.n);
    expect(await hist(sql)).toBe(await hist(refSql));
  }, 180_000);
});
