// End to end: the Moodle plugin's REAL observer and sender (php-cli on moodle-plugin/tests/moodle_standin)
// deliver fixtures/moodle/get_data_examples.json to a REAL ferry (`bun src/main.ts serve`) on loopback.
// ferry stores the batch and the learner's recommendations appear; with ferry stopped the rows stay in
// the plugin's outbox (attempts incremented) and go out exactly once when ferry is back.
// Skipped only when `php` is not installed at all.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const SENDER = join(ROOT, "moodle-plugin/tests/e2e/run_sender.php");
const SHARED_FIXTURES = resolve(ROOT, "../shared/fixtures");
// The shared fixtures when present, else the plugin tests' verbatim copy of the same file.
const FIXTURES = existsSync(join(SHARED_FIXTURES, "moodle/get_data_examples.json"))
  ? SHARED_FIXTURES
  : join(ROOT, "moodle-plugin/tests/fixtures/get_data_examples.json");
const MOODLE_TOKEN = "e2e-moodle-token";
const API_TOKEN = "e2e-api-token";
// Section of the learner's quiz and assignment in the stand-in's course 2 (run_sender.php).
const LEARNER = 4;
const COURSE = 2;
const SECTION = 15;

const hasPhp = Bun.which("php") !== null;

interface SenderRequest { path: string; status: number; outcome: string; count: number; response: any }
interface SenderResult {
  code: number;
  recorded: string[];
  skipped: string[];
  exception: string | null;
  stats: { sent: number; typed: number; parked: number; failed: number; waiting: boolean; requests: SenderRequest[] } | null;
  kept: { id: number; eventname: string; attempts: number; nextattempt: number; parked: number; lasterror: string | null }[];
}

const dir = mkdtempSync(join(tmpdir(), "ferry-plugin-e2e-"));
const dbPath = join(dir, "ferry.db");
const outboxPath = join(dir, "moodle-outbox.sqlite");
const configPath = join(dir, "config.yaml");
let port = 0;
let ferry: Bun.Subprocess | null = null;
let ferryOutput = "";

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

async function startFerry(): Promise<void> {
  ferryOutput = "";
  const proc = Bun.spawn([BUN, "src/main.ts", "serve", "--config", configPath], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  ferry = proc;
  for (const stream of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[]) {
    void (async () => {
      for await (const chunk of stream) ferryOutput += new TextDecoder().decode(chunk);
    })();
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ferry exited with ${proc.exitCode}:\n${ferryOutput}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`ferry did not answer GET /health with 200:\n${ferryOutput}`);
    await Bun.sleep(50);
  }
}

async function stopFerry(): Promise<void> {
  if (!ferry) return;
  const proc = ferry;
  ferry = null;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => null)]);
  if (exited === null) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

/** Runs the plugin's real observer + sender (php-cli) against ferry and returns its JSON report. */
async function runSender(args: string[]): Promise<SenderResult> {
  const proc = Bun.spawn(["php", SENDER, ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...process.env,
      FERRY_URL: `http://127.0.0.1:${port}`,
      FERRY_MOODLE_TOKEN: MOODLE_TOKEN,
      FERRY_E2E_DB: outboxPath,
      FERRY_FIXTURES: FIXTURES,
    },
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  try {
    return { code, ...JSON.parse(out) };
  } catch {
    throw new Error(`run_sender.php (exit ${code}) printed no JSON:\n${out}\n${err}`);
  }
}

function columns(db: Database): string[] {
  return (db.query("PRAGMA table_info(log_events)").all() as { name: string }[]).map((c) => c.name);
}

/** Rows in ferry's log_events per eventname, read from the SQLite file read-only. */
function storedEvents(): { total: number; byName: Record<string, number>; learnerRows: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const cols = columns(db);
    for (const c of ["eventname"]) expect(cols).toContain(c);
    const userCol = cols.includes("user_id") ? "user_id" : "userid";
    const courseCol = cols.includes("course_id") ? "course_id" : "courseid";
    const rows = db.query(`SELECT ${userCol} AS u, ${courseCol} AS c, eventname AS e FROM log_events`).all() as { u: number; c: number; e: string }[];
    const byName: Record<string, number> = {};
    for (const r of rows) byName[r.e] = (byName[r.e] ?? 0) + 1;
    return { total: rows.length, byName, learnerRows: rows.filter((r) => Number(r.u) === LEARNER && Number(r.c) === COURSE).length };
  } finally {
    db.close();
  }
}

function batchRequests(r: SenderResult): SenderRequest[] {
  return (r.stats?.requests ?? []).filter((q) => q.path === "/webhook/moodle-events");
}

function typedRequests(r: SenderResult): SenderRequest[] {
  return (r.stats?.requests ?? []).filter((q) => q.path.startsWith("/api/v1/events/moodle/"));
}

afterAll(async () => {
  await stopFerry();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPhp)("moodle plugin → ferry, end to end", () => {
  let firstRun: SenderResult;
  let storedAfterFirst = 0;

  test("ferry starts from a temp config", async () => {
    expect(existsSync(join(ROOT, "src/main.ts"))).toBe(true);
    port = freePort();
    writeFileSync(
      configPath,
      [
        `server: { host: 127.0.0.1, port: ${port} }`,
        `storage: { path: ${JSON.stringify(dbPath)} }`,
        `moodle: { tokens: ["${MOODLE_TOKEN}"] }`,
        `auth: { api_tokens: ["${API_TOKEN}"] }`,
        "",
      ].join("\n"),
    );
    await startFerry();
  });

  test("the plugin's sender delivers the fixture events; ferry stores them", async () => {
    firstRun = await runSender([]);
    expect(firstRun.exception).toBeNull();
    expect(firstRun.code).toBe(0);
    // The admin's (user 2) page view is staff activity: skipped. The rest is recorded.
    expect(firstRun.skipped).toEqual(["\\mod_page\\event\\course_module_viewed"]);
    expect(firstRun.recorded).toHaveLength(6);
    expect(firstRun.kept).toEqual([]);

    const batches = batchRequests(firstRun);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.status).toBe(202);
    expect(batches[0]!.response).toMatchObject({ status: "accepted", events_received: 6, duplicates: 0 });
    expect(batches[0]!.response.event_id).toMatch(/^moodle_batch_[0-9a-f]{40}$/);

    const stored = storedEvents();
    for (const name of firstRun.recorded) expect(stored.byName[name]).toBe(1);
    expect(stored.learnerRows).toBeGreaterThanOrEqual(4);
    storedAfterFirst = stored.total;
    expect(storedAfterFirst).toBeGreaterThanOrEqual(6);
  });

  test("user, enrolment and grade events also reach the per-type endpoints with 200", () => {
    const typed = typedRequests(firstRun);
    expect(typed.map((q) => q.path).sort()).toEqual([
      "/api/v1/events/moodle/grade_updated",
      "/api/v1/events/moodle/user_created",
      "/api/v1/events/moodle/user_enrolled",
    ]);
    for (const q of typed) {
      expect(q.status).toBe(200);
      expect(q.response).toMatchObject({ status: "ok", event: q.path.split("/").pop() });
    }
  });

  test("the learner's recommendations endpoint answers 200", async () => {
    const url = `http://127.0.0.1:${port}/api/recommendations/${LEARNER}/${SECTION}?course_id=${COURSE}`;
    let body: any = null;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await fetch(url, { headers: { authorization: `Bearer ${API_TOKEN}` } });
      expect(r.status).toBe(200);
      body = await r.json();
      // The pipeline runs in the background after the 202; wait for the learner's state.
      if (body.state !== null && body.state !== undefined) break;
      if (Date.now() > deadline) break;
      await Bun.sleep(100);
    }
    expect(Array.isArray(body.recommendations)).toBe(true);
    expect(body.state).not.toBeNull();
  });

  test("with ferry stopped, new rows stay in the outbox with attempts incremented", async () => {
    await stopFerry();
    // The same fixtures a day later: new events, not duplicates of the first ones.
    const down = await runSender(["--time-shift=86400"]);
    expect(down.code).toBe(2);
    expect(down.exception).toContain("cURL error 7");
    expect(down.recorded).toHaveLength(6);
    expect(down.kept).toHaveLength(6);
    for (const row of down.kept) {
      expect(row.attempts).toBe(1);
      expect(row.parked).toBe(0);
      expect(row.lasterror).toContain("cURL error");
    }
    expect(batchRequests(down).map((q) => q.status)).toEqual([0]);
    expect(storedEvents().total).toBe(storedAfterFirst);
  });

  test("ferry back on the same db and port: the kept rows go out exactly once", async () => {
    await startFerry();
    // Two hours later: past the retry backoff.
    const up = await runSender(["--no-enqueue", "--clock=7200"]);
    expect(up.exception).toBeNull();
    expect(up.code).toBe(0);
    expect(up.kept).toEqual([]);
    expect(up.stats!.sent).toBe(6);
    const batches = batchRequests(up);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.status).toBe(202);
    expect(batches[0]!.response).toMatchObject({ events_received: 6, duplicates: 0 });
    for (const q of typedRequests(up)) expect(q.status).toBe(200);

    const stored = storedEvents();
    expect(stored.total).toBe(2 * storedAfterFirst);
    for (const name of firstRun.recorded) expect(stored.byName[name]).toBe(2);

    // Nothing left: another run sends nothing and stores nothing.
    const again = await runSender(["--no-enqueue", "--clock=7200"]);
    expect(again.stats!.requests).toEqual([]);
    expect(storedEvents().total).toBe(2 * storedAfterFirst);
  });
});
