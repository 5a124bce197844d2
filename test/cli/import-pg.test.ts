// `ferry import` with storage.driver postgres: the file's logs are stored as pending events, a
// re-run stores nothing twice, and a node started on the database learns from them what
// `ferry import` on SQLite learns from the same file.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { Database } from "../../src/store/sqlite";
import { BUN, ROOT, startFerry, tempDir, writeConfig, type TestFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { BASE_CONFIG, CSV_PATH, STRUCTURE_PATH } from "../moodle/fixtures";

const reason = pgUnavailable();
if (reason) console.log(`ferry import on PostgreSQL skipped: ${reason}`);
const it = reason ? test.skip : test;

let cluster: PgCluster | null = null;
let node: TestFerry | null = null;
afterAll(async () => {
  await node?.stop();
  await cluster?.stop();
});

function ferry(args: string[]) {
  const p = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

it("imports into PostgreSQL once, and the shard owner learns what the SQLite import learns", async () => {
  cluster = await startPgCluster();
  const url = await cluster.createDatabase(`import_${process.pid}`);
  const dir = tempDir();
  const storage = { driver: "postgres", url, schema: "ferry" };
  const cfg = writeConfig(dir, { ...BASE_CONFIG, storage });

  let r = ferry(["import", CSV_PATH, "--config", cfg]);
  expect(r.err).not.toContain("error");
  expect(r.code).toBe(0);
  expect(r.out).toContain("into PostgreSQL schema ferry: 4405 rows, 4405 new, 0 duplicates, 0 invalid");
  r = ferry(["import", CSV_PATH, "--config", cfg]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("4405 rows, 0 new, 4405 duplicates");
  r = ferry(["import", CSV_PATH, "--course-structure", STRUCTURE_PATH, "--config", cfg]);
  expect(r.code).toBe(64);
  expect(r.err).toContain("POST /api/v1/courses/{id}/structure");

  // The same file through `ferry import` on SQLite, the reference.
  const liteDir = tempDir();
  expect(ferry(["import", CSV_PATH, "--config", writeConfig(liteDir, BASE_CONFIG)]).code).toBe(0);
  const lite = new Database(join(liteDir, "ferry.db"), { readonly: true });
  const want = {
    history: lite.prepare("SELECT count(*) FROM state_history").pluck().get() as number,
    states: lite.prepare("SELECT user_id, course_id, module_id, level, module_idx, progress, score, phase, engagement FROM user_states ORDER BY 1, 2, 3").all(),
  };
  lite.close();

  node = await startFerry({ ...BASE_CONFIG, storage, cluster: { heartbeat: "250ms", leader_ttl: "1500ms" } }, { dir: tempDir() });
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: "ferry" } });
  try {
    const end = Date.now() + 60_000;
    while (Number((await sql`SELECT count(*) AS n FROM log_events WHERE processed = 0`)[0]!.n) > 0) {
      if (Date.now() > end) throw new Error("the imported logs were not processed within 60 s");
      await Bun.sleep(100);
    }
    expect(Number((await sql`SELECT count(*) AS n FROM state_history`)[0]!.n)).toBe(want.history);
    const states = await sql`SELECT user_id, course_id, module_id, level, module_idx, progress, score, phase, engagement FROM user_states ORDER BY 1, 2, 3`;
    expect(states.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v])))).toEqual(want.states as never);
    expect(Number((await sql`SELECT count(*) AS n FROM recommendations`)[0]!.n)).toBeGreaterThan(0);
  } finally {
    await sql.end();
  }
}, 120_000);
