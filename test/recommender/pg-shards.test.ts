// Course shards and the recommender on PostgreSQL, node by node (in this process, each node its
// own driver, ShardOwner and pipeline on one database): a node whose lease was taken is fenced —
// its batch writes nothing and its state is dropped — and the new owner, from the snapshot plus
// the transitions after it, ends with exactly the Q-tables and stored answers of a single node
// fed the same events.
import { afterAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { shardWorkKind } from "../../src/cluster/course-work";
import { shardOfCourse } from "../../src/cluster/rendezvous";
import { ShardOwner } from "../../src/cluster/shards";
import { parseConfig } from "../../src/config/load";
import { allPgMigrations } from "../../src/modules";
import { insertLogsPg } from "../../src/modules/moodle/writer-pg";
import { validateLogs } from "../../src/modules/moodle/normalize";
import { PgPipeline } from "../../src/modules/recommender/pipeline-pg";
import { applyStructurePg } from "../../src/modules/recommender/structure-pg";
import { systemClock } from "../../src/queue";
import { PostgresDriver } from "../../src/store/driver/postgres";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { graded, rng, structure, visit, type SynthActivity } from "./synthetic";

const reason = pgUnavailable();
if (reason) console.log(`recommender shard tests skipped: ${reason}`);
const it = reason ? test.skip : test;
const log = pino({ level: "silent" });
const config = parseConfig({ recommender: { batch_size: 5000 } });
const SHARDS = 4;
const COURSE = 7;

let cluster: PgCluster | null = null;
let dbs = 0;
const closing: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c().catch(() => {});
  await cluster?.stop();
});

interface Node {
  driver: PostgresDriver;
  shards: ShardOwner;
  pipeline: PgPipeline;
}

async function database(): Promise<string> {
  cluster ??= await startPgCluster();
  return cluster.createDatabase(`shards_${process.pid}_${++dbs}`);
}

async function node(url: string, nodeId: string, opts: { start?: boolean } = {}): Promise<Node> {
  const driver = new PostgresDriver({ url, pool: 4, schema: "ferry", nodeId, migrations: allPgMigrations });
  await driver.migrate();
  const shards = new ShardOwner(driver, { nodeId, shards: SHARDS, ttlMs: 60_000, clock: systemClock, log });
  // No polling: work reaches a node only through the ingest's NOTIFY, or a signal the test sends.
  const pipeline = new PgPipeline({ driver, shards, config: () => config, clock: systemClock, log, pollMs: 3_600_000 });
  if (opts.start !== false) pipeline.start();
  await driver.ready();
  closing.push(() => driver.close());
  return { driver, shards, pipeline };
}

/** A course of two lessons; learners visit in course order with quiz grades (so Q-updates happen). */
function courseEvents(seed: number): { lessons: SynthActivity[][]; chunks: Array<Array<Record<string, string | null>>> } {
  const kinds: SynthActivity["modname"][] = ["resource", "quiz", "hvp", "quiz"];
  const lessons = [0, 1].map((l) => kinds.map((m, i) => ({ cmid: COURSE * 100 + l * 10 + i, modname: m, name: `L${l + 1} ${m} ${i}` })));
  const order = lessons.flat();
  const random = rng(seed);
  const rows: Array<Record<string, string | null>> = [];
  let t = 1_766_000_000;
  for (let u = 0; u < 12; u++) {
    let i = 0;
    for (let step = 0; step < 10 && i < order.length; step++) {
      const a = order[i]!;
      rows.push(visit(COURSE, 300 + u, a, (t += 30)));
      if (a.modname === "quiz") rows.push(graded(COURSE, 300 + u, a, Math.round(3 + random() * 7), (t += 5)));
      i += random() < 0.8 ? 1 : 2;
    }
  }
  // Three chunks in time order: each chunk's events come after the previous chunk's.
  const third = Math.ceil(rows.length / 3);
  return { lessons, chunks: [rows.slice(0, third), rows.slice(third, 2 * third), rows.slice(2 * third)] };
}

/** What an ingest on `via` does: the rows stored, and the course's shard told through the batch's NOTIFY. */
async function ingest(via: Node, logs: Array<Record<string, string | null>>): Promise<void> {
  const rows = validateLogs(logs);
  await via.driver.write(async (tx, w) => {
    await insertLogsPg(tx, rows, null, Date.now());
    w.notify(shardWorkKind(shardOfCourse(COURSE, SHARDS)));
  });
}

async function pending(n: Node): Promise<number> {
  return Number((await n.driver.sql`SELECT count(*)::int AS n FROM log_events WHERE processed = 0`)[0]!.n);
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

async function storedAnswers(n: Node) {
  const rows = await n.driver.sql<{ user_id: number; module_id: number; body: string }[]>`SELECT user_id, module_id, body FROM recommendations ORDER BY user_id, module_id`;
  return rows.map((r) => ({ user_id: r.user_id, module_id: r.module_id, body: { ...JSON.parse(r.body), generated_at: null } }));
}

describe("recommender shards on PostgreSQL", () => {
  it("a node whose lease was taken is fenced; the new owner restores snapshot + replay and ends equal to a single node", async () => {
    const { lessons, chunks } = courseEvents(3);
    const shard = shardOfCourse(COURSE, SHARDS);

    // The reference: one node alone, fed the same chunks.
    const refUrl = await database();
    const ref = await node(refUrl, "ref");
    await ref.shards.rebalance(["ref"]);
    await ref.driver.write((tx) => applyStructurePg(tx, COURSE, structure(COURSE, lessons).contents, Date.now()));
    for (const c of chunks) {
      await ingest(ref, c);
      await until("the reference processed its chunk", async () => (await pending(ref)) === 0);
      await ref.pipeline.idle();
    }

    // Node a owns every shard; it processes chunk 1, snapshots, processes chunk 2 (no snapshot after).
    const url = await database();
    const a = await node(url, "a");
    await a.shards.rebalance(["a"]);
    expect(a.shards.epochOf(shard)).toBe(1);
    await a.driver.write((tx) => applyStructurePg(tx, COURSE, structure(COURSE, lessons).contents, Date.now()));
    await ingest(a, chunks[0]!);
    await until("a processed chunk 1", async () => (await pending(a)) === 0);
    await a.pipeline.idle();
    expect(await a.pipeline.snapshot()).toBeGreaterThan(0);
    await ingest(a, chunks[1]!);
    await until("a processed chunk 2", async () => (await pending(a)) === 0);
    await a.pipeline.idle();
    const histAfterA = Number((await a.driver.sql`SELECT count(*)::int AS n FROM state_history`)[0]!.n);
    expect(histAfterA).toBeGreaterThan(10);

    // a's lease runs out (a stalled: no renewal) and b takes the shard at the next epoch.
    await a.driver.sql`UPDATE shard_leases SET expires_at = 0 WHERE shard = ${shard}`;
    const b = await node(url, "b", { start: false }); // its pipeline starts later, so a tries first
    await b.shards.rebalance(["b"]);
    expect(b.shards.epochOf(shard)).toBe(2);
    expect(a.shards.epochOf(shard)).toBe(1); // a has not noticed yet

    // Chunk 3 arrives (on b's side); a still believes it owns the shard and tries: fenced.
    await ingest(b, chunks[2]!);
    await until("a's fenced attempt", async () => a.pipeline.fenced > 0);
    await a.pipeline.idle();
    expect(Number((await a.driver.sql`SELECT count(*)::int AS n FROM state_history`)[0]!.n)).toBe(histAfterA);
    expect(await pending(a)).toBe(chunks[2]!.length);
    expect(await a.pipeline.engineOf(COURSE).catch(() => null)).not.toBeNull(); // a's ShardOwner still lists it until its next heartbeat…
    await a.shards.rebalance(["a", "b"]); // …which finds the lease gone: the shard is dropped
    expect(a.shards.epochOf(shard)).toBeNull();
    expect(await a.pipeline.engineOf(COURSE)).toBeNull();

    // b takes over: snapshot (after chunk 1) + replay (chunk 2), then chunk 3.
    b.pipeline.start();
    b.pipeline.signal(shard);
    await until("b processed chunk 3", async () => (await pending(b)) === 0);
    await b.pipeline.idle();

    const engineB = (await b.pipeline.engineOf(COURSE))!;
    const restored = b.pipeline.restores.find((r) => r.shard === shard)!;
    expect(restored.epoch).toBe(2);
    expect(restored.snapshotSeq).toBeGreaterThan(0); // a's snapshot after chunk 1…
    expect(restored.replayed).toBeGreaterThan(0); // …and chunk 2's transitions replayed after it
    const engineRef = (await ref.pipeline.engineOf(COURSE))!;
    expect(engineB.q.courseTable(COURSE)!.updates).toBeGreaterThan(10);
    expect(engineB.q.toJSON()).toEqual(engineRef.q.toJSON());
    expect(engineB.q.lastSeq).toBe(engineRef.q.lastSeq);
    expect(await storedAnswers(b)).toEqual(await storedAnswers(ref));
    // Every event learned from exactly once.
    const perEvent = await b.driver.sql`SELECT event_id, count(*)::int AS n FROM state_history GROUP BY event_id HAVING count(*) > 1`;
    const perEventRef = await ref.driver.sql`SELECT event_id, count(*)::int AS n FROM state_history GROUP BY event_id HAVING count(*) > 1`;
    expect(perEvent.length).toBe(perEventRef.length);
    expect(Number((await b.driver.sql`SELECT count(*)::int AS n FROM state_history`)[0]!.n)).toBe(Number((await ref.driver.sql`SELECT count(*)::int AS n FROM state_history`)[0]!.n));

    // A fresh node loading b's shard from scratch (snapshot + replay of chunks 2 and 3) agrees too.
    await b.pipeline.snapshot();
    await b.driver.sql`UPDATE shard_leases SET expires_at = 0 WHERE shard = ${shard}`;
    const c = await node(url, "c");
    await c.shards.rebalance(["c"]);
    const engineC = (await c.pipeline.engineOf(COURSE))!;
    expect(engineC.q.toJSON()).toEqual(engineRef.q.toJSON());
  }, 120_000);

  it("an erasure processed by one shard's owner drops the user from the memory of every node", async () => {
    const url = await database();
    const a = await node(url, "a");
    const b = await node(url, "b");
    await a.shards.rebalance(["a", "b"]);
    await b.shards.rebalance(["a", "b"]);
    await a.shards.rebalance(["a", "b"]);
    // COURSE's shard on one node; the site course (where Moodle logs user_deleted) on the other.
    const owner = a.shards.epochOf(shardOfCourse(COURSE, SHARDS)) !== null ? a : b;
    const other = owner === a ? b : a;
    let site = 1;
    while (other.shards.epochOf(shardOfCourse(site, SHARDS)) === null) site++;
    const { lessons, chunks } = courseEvents(5);
    await a.driver.write((tx) => applyStructurePg(tx, COURSE, structure(COURSE, lessons).contents, Date.now()));
    await ingest(a, chunks[0]!);
    await until("the course processed", async () => (await pending(a)) === 0);
    await owner.pipeline.idle();
    const user = Number(chunks[0]![0]!.userid);
    const engine = (await owner.pipeline.engineOf(COURSE))!;
    expect(engine.knownLearner(user, COURSE)).not.toBeNull();
    const rows = validateLogs([{ userid: "2", courseid: String(site), eventname: "\\core\\event\\user_deleted", relateduserid: String(user), objectid: String(user), contextlevel: "10", timecreated: "1766100000" }]);
    await a.driver.write(async (tx, w) => {
      await insertLogsPg(tx, rows, null, Date.now());
      w.notify(shardWorkKind(shardOfCourse(site, SHARDS)));
    });
    await until("the erasure processed", async () => (await pending(a)) === 0);
    await other.pipeline.idle();
    await until("the owner of the course forgot the user", async () => engine.knownLearner(user, COURSE) === null, 5000);
    expect(await a.driver.sql`SELECT 1 FROM learners WHERE user_id = ${user}`).toHaveLength(0);
    expect(await a.driver.sql`SELECT 1 FROM recommendations WHERE user_id = ${user}`).toHaveLength(0);
    expect(await a.driver.sql`SELECT 1 FROM log_events WHERE userid = ${user}`).toHaveLength(0);
  }, 60_000);
});
