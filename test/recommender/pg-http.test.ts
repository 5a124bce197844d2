// The recommender and Moodle ingest on PostgreSQL through the real HTTP server: the fixture
// course ingested on a PostgreSQL ferry gives the same stored recommendations and Q-table as on
// SQLite; typed events and structure routes answer the same; two ferry nodes on one database
// split the course shards and each course is learned by its shard's owner only.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import postgres from "postgres";
import { shardOfCourse } from "../../src/cluster/rendezvous";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, startFerry, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { API_TOKEN, BASE_CONFIG, course2Logs, MOODLE_TOKEN, structure2 } from "../moodle/fixtures";
import { structure, visit, type SynthActivity } from "./synthetic";

/** Two lessons of three activities; cmids unique per course. */
function lessonsOf(c: number): SynthActivity[][] {
  const kinds: SynthActivity["modname"][] = ["resource", "hvp", "forum"];
  return [0, 1].map((l) => kinds.map((m, i) => ({ cmid: c * 100 + l * 10 + i, modname: m, name: `L${l + 1} ${m}` })));
}

const reason = pgUnavailable();
if (reason) console.log(`recommender PostgreSQL tests skipped: ${reason}`);
const it = reason ? test.skip : test;

let cluster: PgCluster | null = null;
let dbs = 0;
const running: TestFerry[] = [];
afterAll(async () => {
  await Promise.allSettled(running.splice(0).map((f) => f.stop()));
  await cluster?.stop();
});

async function freshDb(): Promise<string> {
  cluster ??= await startPgCluster();
  return cluster.createDatabase(`rec_${process.pid}_${++dbs}`);
}

const CONFIG = { ...BASE_CONFIG, server: { body_limit: "16mb" }, recommender: { batch_size: 20000 } };

async function pgFerry(url: string, nodeId: string, shards = 8): Promise<TestFerry> {
  const f = await startFerry({ ...CONFIG, storage: { driver: "postgres", url, schema: "ferry" }, cluster: { node_id: nodeId, shards, heartbeat: "250ms", leader_ttl: "1500ms" } });
  running.push(f);
  return f;
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

const moodle = (f: TestFerry, path: string, body: unknown) => f.request("POST", path, { body, headers: { "x-moodle-token": MOODLE_TOKEN } });
const ownedShards = (f: TestFerry) => f.daemon.ctx.cluster.shards.ownedShards();

/** Stored answers without their time of generation (the only field that differs between two runs). */
function comparable(rows: Array<{ user_id: number; course_id: number; module_id: number; k: number; body: string; full: string }>) {
  const strip = (t: string) => {
    const o = JSON.parse(t);
    delete o.generated_at;
    return o;
  };
  return rows.map((r) => ({ user_id: Number(r.user_id), course_id: Number(r.course_id), module_id: Number(r.module_id), k: r.k, body: strip(r.body), full: strip(r.full) })).sort((a, b) => a.course_id - b.course_id || a.user_id - b.user_id || a.module_id - b.module_id);
}

describe("recommender on PostgreSQL, through the HTTP server", () => {
  it("the fixture course gives the same stored recommendations and Q-table on PostgreSQL as on SQLite", async () => {
    const logs = course2Logs();
    const lite = await startFerry(CONFIG);
    running.push(lite);
    const url = await freshDb();
    const pg = await pgFerry(url, "solo");
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    const done = {
      sqlite: async () => ((await (await lite.request("GET", "/health", { token: API_TOKEN })).json()) as any).recommender.pending_events === 0,
      postgres: async () => Number((await sql`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n) === 0,
    };
    for (const [name, f] of [["sqlite", lite], ["postgres", pg]] as const) {
      expect((await moodle(f, "/api/v1/courses/2/structure", structure2())).status).toBe(200);
      const t0 = performance.now();
      const r = await moodle(f, "/webhook/moodle-events", { event_id: "fixture-1", logs });
      expect(r.status).toBe(202);
      const t1 = performance.now();
      await until(`${name} pipeline`, done[name]);
      console.log(`${name}: ${logs.length} fixture logs accepted in ${Math.round(t1 - t0)} ms, learned and answers stored ${Math.round(performance.now() - t1)} ms later`);
      expect(((await r.json()) as any).accepted).toBe(logs.length);
      // A retry of the same batch is a duplicate as a whole.
      expect(((await (await moodle(f, "/webhook/moodle-events", { event_id: "fixture-1", logs: logs.slice(0, 3) })).json()) as any).duplicates).toBe(3);
    }
    let sample: { user_id: number; module_id: number } = { user_id: 0, module_id: 0 };
    try {
      const pgRows = await sql`SELECT user_id, course_id, module_id, k, body, "full" FROM recommendations`;
      const liteDb = new Database(lite.dbPath, { readonly: true });
      const liteRows = liteDb.query("SELECT user_id, course_id, module_id, k, body, full FROM recommendations").all() as any[];
      const liteHist = liteDb.query("SELECT count(*) AS n FROM state_history").get() as any;
      liteDb.close();
      expect(liteRows.length).toBeGreaterThan(20);
      sample = liteRows[0];
      expect(comparable(pgRows as any)).toEqual(comparable(liteRows));
      expect(Number((await sql`SELECT count(*) AS n FROM state_history`)[0]!.n)).toBe(liteHist.n);
    } finally {
      await sql.end();
    }
    const q = async (f: TestFerry) => ((await (await f.request("GET", "/api/v1/recommender/qtable?course_id=2", { token: API_TOKEN })).json()) as any);
    const [ql, qp] = [await q(lite), await q(pg)];
    expect(Object.keys(ql.states).length).toBeGreaterThan(5);
    expect(qp.states).toEqual(ql.states);
    expect(qp.updates).toBe(ql.updates);
    // Reads answer the same on both (any PostgreSQL node serves them from the stored rows).
    const user = sample.user_id;
    for (const path of [`/api/v1/recommendations/${user}?course_id=2`, `/api/recommendations/${user}/${sample.module_id}?course_id=2&k=2`, `/api/recommendations/${user}/${sample.module_id}`, "/api/recommendations/999999/1"]) {
      const a = (await (await lite.request("GET", path, { token: API_TOKEN })).json()) as any;
      const b = (await (await pg.request("GET", path, { token: API_TOKEN })).json()) as any;
      const clean = (o: any) => JSON.parse(JSON.stringify(o, (k, v) => (k === "generated_at" ? undefined : v)));
      expect(clean(b)).toEqual(clean(a));
    }
    // The structure as either database sees it.
    const sa = (await (await lite.request("GET", "/api/v1/courses/2/structure", { token: API_TOKEN })).json()) as any;
    const sb = (await (await pg.request("GET", "/api/v1/courses/2/structure", { token: API_TOKEN })).json()) as any;
    expect(typeof sb.updated_at).toBe("string");
    expect({ ...sb, updated_at: null }).toEqual({ ...sa, updated_at: null });
  }, 120_000);

  it("typed events on PostgreSQL: users, enrolments (staff via the course model), grades, erasure; bad input is a 4xx", async () => {
    const url = await freshDb();
    const pg = await pgFerry(url, "typed");
    expect((await moodle(pg, "/api/v1/events/moodle/user_created", { eventname: "\\core\\event\\user_created", userid: 41, username: "ana", email: "ana@example.org" })).status).toBe(200);
    expect((await moodle(pg, "/api/v1/events/moodle/user_enrolled", { eventname: "\\core\\event\\user_enrolment_created", enrollmentid: 7, userid: 42, courseid: 9, roleid: 3 })).status).toBe(200);
    expect((await moodle(pg, "/api/v1/events/moodle/grade_updated", { eventname: "\\core\\event\\grade_updated", gradeid: 5, userid: 41, itemid: 3, courseid: 9, finalgrade: 7.5, grademax: 10 })).status).toBe(200);
    const unknown = await moodle(pg, "/api/v1/events/moodle/nope", {});
    expect(unknown.status).toBe(404);
    expect((await moodle(pg, "/api/v1/events/moodle/user_enrolled", { userid: "x" })).status).toBe(422);
    expect((await moodle(pg, "/webhook/moodle-events", { logs: [] })).status).toBe(400);
    expect((await pg.request("POST", "/webhook/moodle-events", { body: { logs: [{}] } })).status).toBe(401);
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    try {
      expect((await sql`SELECT username FROM moodle_users WHERE user_id = 41`)[0]?.username).toBe("ana");
      expect((await sql`SELECT course_id::int AS c, user_id::int AS u FROM course_staff`).map((r) => [r.c, r.u])).toEqual([[9, 42]]);
      expect(Number((await sql`SELECT version FROM course_versions WHERE course_id = 9`)[0]!.version)).toBe(1);
      // The grade became a user_graded log of course 9, processed by the pipeline.
      await until("grade processed", async () => (await sql`SELECT processed FROM log_events WHERE courseid = 9 AND eventname LIKE '%user_graded'`)[0]?.processed === 1);
      // Erasure: \core\event\user_deleted removes the user's Moodle records at once.
      const del = await moodle(pg, "/webhook/moodle-events", { logs: [{ userid: 2, courseid: 0, eventname: "\\core\\event\\user_deleted", relateduserid: 41, objectid: 41, timecreated: 1763794629, contextlevel: 10 }] });
      expect(del.status).toBe(202);
      expect(await sql`SELECT 1 FROM moodle_users WHERE user_id = 41`).toHaveLength(0);
      expect(await sql`SELECT 1 FROM moodle_grades WHERE user_id = 41`).toHaveLength(0);
      await until("erasure processed", async () => (await sql`SELECT 1 FROM log_events WHERE userid = 41 OR relateduserid = 41`).length === 0);
    } finally {
      await sql.end();
    }
  }, 60_000);

  it("two nodes split the shards; each course is learned by its shard's owner; reads work on both", async () => {
    const url = await freshDb();
    const a = await pgFerry(url, "node-a");
    const b = await pgFerry(url, "node-b");
    await until("an even split", async () => {
      const sa = ownedShards(a);
      const sb = ownedShards(b);
      return sa.length > 0 && sb.length > 0 && sa.length + sb.length === 8 && !sa.some((s) => sb.includes(s));
    });
    const owned = { a: ownedShards(a), b: ownedShards(b) };
    // Courses on both nodes' shards, every event ingested on node A.
    const courses: number[] = [];
    for (let c = 100; courses.length < 4; c++) {
      const s = shardOfCourse(c, 8);
      const wantB = courses.length % 2 === 0;
      if ((wantB ? owned.b : owned.a).includes(s)) courses.push(c);
    }
    for (const c of courses) {
      const lessons = lessonsOf(c);
      expect((await moodle(a, `/api/v1/courses/${c}/structure`, structure(c, lessons))).status).toBe(200);
      const logs = [];
      let t = 1_763_000_000;
      for (let u = 1; u <= 6; u++) for (const act of lessons.flat()) logs.push(visit(c, 1000 + u, act, t++));
      expect((await moodle(a, "/webhook/moodle-events", { logs })).status).toBe(202);
    }
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    try {
      await until("both nodes' pipelines", async () => Number((await sql`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n) === 0);
    } finally {
      await sql.end();
    }
    // One more event of a course of b's, ingested on a: b hears a's NOTIFY and processes it
    // (polling, every second, is only the fallback).
    const cb = courses[0]!;
    const sql2 = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
    try {
      const t0 = performance.now();
      expect((await moodle(a, "/webhook/moodle-events", { logs: [visit(cb, 1001, lessonsOf(cb)[1]![2]!, 1_764_000_000)] })).status).toBe(202);
      await until("b processed a's ingest", async () => Number((await sql2`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n) === 0, 10_000);
      console.log(`ingest on node a → processed by node b (the shard's owner): ${Math.round(performance.now() - t0)} ms`);
    } finally {
      await sql2.end();
    }
    for (const c of courses) {
      const mine = owned.b.includes(shardOfCourse(c, 8)) ? b : a;
      const other = mine === a ? b : a;
      expect((await mine.request("GET", `/api/v1/recommender/qtable?course_id=${c}`, { token: API_TOKEN })).status).toBe(200);
      const refused = await other.request("GET", `/api/v1/recommender/qtable?course_id=${c}`, { token: API_TOKEN });
      expect(refused.status).toBe(404);
      expect(((await refused.json()) as any).error.message ?? "").toContain(`owned by node "${mine === a ? "node-a" : "node-b"}"`);
      // Either node serves the stored answers.
      for (const f of [a, b]) {
        const r = (await (await f.request("GET", `/api/v1/recommendations/1001?course_id=${c}`, { token: API_TOKEN })).json()) as any;
        expect(r.modules.length).toBeGreaterThan(0);
      }
    }
  }, 90_000);

  it("ferry move-to-postgres, then serve on PostgreSQL: the moved course's Q-table (from the SQLite snapshot) and answers are the same", async () => {
    const logs = course2Logs();
    const lite = await startFerry(CONFIG);
    expect((await moodle(lite, "/api/v1/courses/2/structure", structure2())).status).toBe(200);
    expect((await moodle(lite, "/webhook/moodle-events", { logs })).status).toBe(202);
    await until("SQLite pipeline", async () => ((await (await lite.request("GET", "/health", { token: API_TOKEN })).json()) as any).recommender.pending_events === 0);
    const get = async (f: TestFerry, path: string) => (await (await f.request("GET", path, { token: API_TOKEN })).json()) as any;
    const qLite = await get(lite, "/api/v1/recommender/qtable?course_id=2");
    const answersLite = await get(lite, "/api/v1/recommendations/13?course_id=2");
    expect(answersLite.modules.length).toBeGreaterThan(0);
    expect(Object.keys(qLite.states).length).toBeGreaterThan(5);
    await lite.stop(); // writes the final snapshot

    const url = await freshDb();
    const cfg = join(lite.dir, "move.yaml");
    writeFileSync(cfg, `storage: { driver: postgres, path: '${lite.dbPath}', url: '${url}', schema: ferry }\nlog: { level: silent }\n`);
    const moved = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), "move-to-postgres", "--quiet", "--config", cfg], { stdout: "pipe", stderr: "pipe" });
    expect(moved.exitCode).toBe(0);
    for (const t of ["log_events", "learners", "user_states", "state_history", "recommendations", "qtable_snapshots", "activity_moves", "course_rankers"]) expect(moved.stdout.toString()).toMatch(new RegExp(`moved ${t}: [1-9]\\d* rows read`));

    const pg = await pgFerry(url, "moved");
    const qPg = await get(pg, "/api/v1/recommender/qtable?course_id=2");
    expect(qPg.states).toEqual(qLite.states);
    expect(qPg.updates).toBe(qLite.updates);
    expect(await get(pg, "/api/v1/recommendations/13?course_id=2")).toEqual(answersLite);
  }, 120_000);
});
