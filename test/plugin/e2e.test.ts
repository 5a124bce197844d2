// End to end: the Moodle plugin's REAL observer and sender (php-cli on moodle-plugin/tests/moodle_standin)
// deliver fixtures/moodle/get_data_examples.json to a REAL ferry (`bun src/main.ts serve`) on loopback.
// ferry stores the batch and the learner's recommendations appear; with ferry stopped the rows stay in
// the plugin's outbox (attempts incremented, the sender returns normally) and go out exactly once when
// ferry is back, within the plugin's own first backoff (60 s). Per-log idempotency keys: two real events
// in the same second are both stored, a row resent in another batch is a duplicate. Deletion events
// (user_deleted, user_enrolment_deleted) reach ferry with ids only.
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
  stats: { sent: number; typed: number; parked: number; failed: number; waiting: boolean; transient: boolean; error: string | null; requests: SenderRequest[] } | null;
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

/** The plugin's outbox rows (the stand-in's SQLite file), read directly. */
function outboxRows(): Record<string, any>[] {
  const db = new Database(outboxPath);
  try {
    return db.query("SELECT * FROM local_ferry_outbox ORDER BY id").all() as Record<string, any>[];
  } finally {
    db.close();
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
    // Every stored log carries the plugin's per-log key (site + outbox row + time).
    const db = new Database(dbPath, { readonly: true });
    try {
      const raws = (db.query("SELECT raw FROM log_events").all() as { raw: string }[]).map((r) => JSON.parse(r.raw));
      for (const raw of raws) expect(raw.idempotency_key).toMatch(/^moodle:[0-9a-f]{16}:\d+:\d+$/);
    } finally {
      db.close();
    }
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

  let downAt = 0;
  test("with ferry stopped, new rows stay in the outbox and the sender returns normally", async () => {
    await stopFerry();
    // The same fixtures a day later: new events, not duplicates of the first ones.
    downAt = Math.floor(Date.now() / 1000);
    const down = await runSender(["--time-shift=86400"]);
    // No exception: Moodle's task fail delay never applies; the rows carry the plugin's backoff.
    expect(down.exception).toBeNull();
    expect(down.code).toBe(2);
    expect(down.stats!.transient).toBe(true);
    expect(down.stats!.error).toContain("cURL error 7");
    expect(down.recorded).toHaveLength(6);
    expect(down.kept).toHaveLength(6);
    for (const row of down.kept) {
      expect(row.attempts).toBe(1);
      expect(row.parked).toBe(0);
      expect(row.lasterror).toContain("cURL error");
      // First backoff: one minute.
      expect(row.nextattempt - downAt).toBeGreaterThanOrEqual(59);
      expect(row.nextattempt - downAt).toBeLessThanOrEqual(61 + 10);
    }
    expect(batchRequests(down).map((q) => q.status)).toEqual([0]);
    expect(storedEvents().total).toBe(storedAfterFirst);
  });

  test("ferry back on the same db and port: the kept rows go out exactly once, one minute after the failure", async () => {
    await startFerry();
    // Right after the restart the rows still wait for their first backoff (unless a minute has passed).
    if (Math.floor(Date.now() / 1000) < downAt + 55) {
      const early = await runSender(["--no-enqueue"]);
      expect(early.stats!.waiting).toBe(true);
      expect(early.stats!.requests).toEqual([]);
      expect(early.kept).toHaveLength(6);
    }
    // 61 s after the failure: past the plugin's backoff, nowhere near Moodle's fail delay.
    const clock = downAt + 61 - Math.floor(Date.now() / 1000);
    const up = await runSender(["--no-enqueue", `--clock=${Math.max(0, clock)}`]);
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

  const QUIZ = "\\mod_quiz\\event\\attempt_submitted";

  test("two real events with the same user, object and second are both stored (per-log keys)", async () => {
    const before = storedEvents().byName[QUIZ] ?? 0;
    const r = await runSender([`--only=${QUIZ}`, "--repeat=2", "--time-shift=172800"]);
    expect(r.recorded).toEqual([QUIZ, QUIZ]);
    expect(r.kept).toEqual([]);
    expect(batchRequests(r)[0]!.response).toMatchObject({ events_received: 2, accepted: 2, duplicates: 0 });
    expect(storedEvents().byName[QUIZ]).toBe(before + 2);
  });

  test("a row resent in a different batch (its 2xx was lost) is a duplicate by its key", async () => {
    const before = storedEvents().byName[QUIZ] ?? 0;
    const queued = await runSender([`--only=${QUIZ}`, "--time-shift=259200", "--no-send"]);
    expect(queued.kept).toHaveLength(1);
    const [row] = outboxRows();
    const sent = await runSender(["--no-enqueue"]);
    expect(sent.stats!.sent).toBe(1);
    // The answer "was lost": the row is back in the outbox, and a new event joins it in the next batch.
    const db = new Database(outboxPath);
    try {
      const cols = Object.keys(row!);
      db.query(`INSERT INTO local_ferry_outbox (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).run(...cols.map((c) => row![c]));
    } finally {
      db.close();
    }
    const resent = await runSender([`--only=${QUIZ}`, "--time-shift=345600"]);
    const batch = batchRequests(resent);
    expect(batch).toHaveLength(1);
    expect(batch[0]!.count).toBe(2);
    expect(batch[0]!.response).toMatchObject({ events_received: 2, accepted: 1, duplicates: 1 });
    expect(resent.kept).toEqual([]);
    expect(storedEvents().byName[QUIZ]).toBe(before + 2);
  });

  test("user_deleted and user_enrolment_deleted reach ferry with ids only", async () => {
    const queued = await runSender(["--deletions", "--no-send"]);
    expect(queued.recorded).toEqual(["\\core\\event\\user_deleted", "\\core\\event\\user_enrolment_deleted"]);
    const payloads = outboxRows().map((r) => JSON.parse(r.payload));
    expect(payloads.map((p) => [p.eventname, p.relateduserid, p.objectid, p.courseid, p.other])).toEqual([
      ["\\core\\event\\user_deleted", LEARNER, LEARNER, 0, null],
      ["\\core\\event\\user_enrolment_deleted", LEARNER, 5, COURSE, null],
    ]);
    expect(JSON.stringify(payloads)).not.toContain("ana@example.org");
    expect(JSON.stringify(payloads)).not.toContain('"username"');

    const sent = await runSender(["--no-enqueue"]);
    expect(sent.exception).toBeNull();
    expect(sent.kept).toEqual([]);
    const batch = batchRequests(sent);
    expect(batch).toHaveLength(1);
    expect(batch[0]!.status).toBe(202);
    expect(batch[0]!.response).toMatchObject({ events_received: 2, accepted: 2, duplicates: 0 });
  });
});
