import { expect, test } from "bun:test";
import { Database } from "../../src/store/sqlite";
import { freePort, jsonRequest, spawnFerry, tempDir, waitFor, writeConfig, type ChildFerry } from "../helpers/ferry";
import { BASE_CONFIG, chunks, course2Logs, MOODLE_TOKEN, structure2 } from "../moodle/fixtures";

// Learning events of course 2 in event-time order, 40 per batch with stable event ids.
const logs = course2Logs()
  .sort((a, b) => Number(a.timecreated) - Number(b.timecreated) || Number(a.id) - Number(b.id));
const batches = chunks(logs, 50).map((l, i) => ({ event_id: `snap-${i}`, logs: l }));

async function start(dir: string, port: number): Promise<ChildFerry> {
  const cfg = writeConfig(dir, { ...BASE_CONFIG, server: { port }, recommender: { snapshot_every: "1s" } });
  return spawnFerry(cfg, port);
}

async function send(f: ChildFerry, list: typeof batches): Promise<void> {
  for (const b of list) {
    const r = await jsonRequest(f.url, "POST", "/webhook/moodle-events", { body: b, token: MOODLE_TOKEN });
    expect(r.status).toBe(202);
  }
}

async function drained(f: ChildFerry): Promise<void> {
  await waitFor(async () => {
    const h = (await (await fetch(f.url + "/health")).json()) as any;
    const d = h.queue?.depth?.["moodle.pipeline"] ?? {};
    // A job leased by a SIGKILLed process stays "running" until its lease expires; it finds nothing left to do.
    return h.recommender?.pending_events === 0 && !d.queued && !d.retry;
  }, 30_000, "pipeline drained");
  // The pending count is 0 once the batch committed; the job's own completion follows.
  await Bun.sleep(100);
}

function newestSnapshot(dbPath: string): { last_seq: number; data: any; maxSeq: number } {
  const db = new Database(dbPath, { readonly: true });
  const row = db.prepare("SELECT last_seq, data FROM qtable_snapshots ORDER BY id DESC LIMIT 1").get() as any;
  const maxSeq = db.prepare("SELECT max(seq) FROM state_history").pluck().get() as number;
  db.close();
  return { last_seq: row?.last_seq ?? 0, data: row ? JSON.parse(row.data) : null, maxSeq };
}

test("SIGKILL mid-stream + restart (snapshot + replay) ends with exactly the Q-values of an uninterrupted run", async () => {
  // Uninterrupted run.
  const dirA = tempDir();
  const a = await start(dirA, freePort());
  await jsonRequest(a.url, "POST", "/api/v1/courses/2/structure", { body: structure2(), token: MOODLE_TOKEN });
  await send(a, batches);
  await drained(a);
  expect(await a.kill("SIGTERM")).toBe(0);
  const clean = newestSnapshot(dirA + "/ferry.db");
  expect(clean.last_seq).toBe(clean.maxSeq);
  expect(Object.keys(clean.data.courses["2"].q).length).toBeGreaterThan(5);

  // Interrupted run: half the stream, let a snapshot happen, more events, SIGKILL while processing.
  const dirB = tempDir();
  const port = freePort();
  let b = await start(dirB, port);
  await jsonRequest(b.url, "POST", "/api/v1/courses/2/structure", { body: structure2(), token: MOODLE_TOKEN });
  await send(b, batches.slice(0, 50));
  await drained(b);
  await Bun.sleep(1300); // at least one croner snapshot
  await send(b, batches.slice(50, 80));
  await b.kill("SIGKILL");
  const killed = newestSnapshot(dirB + "/ferry.db");
  expect(killed.last_seq).toBeGreaterThan(0);
  // The snapshot on disk is behind the processed events: the restart has to replay.
  expect(killed.maxSeq).toBeGreaterThan(killed.last_seq);

  b = await start(dirB, port);
  // The client resends everything it did not see acknowledged (here: all; repeats are duplicates).
  await send(b, batches);
  await drained(b);
  expect(await b.kill("SIGTERM")).toBe(0);
  const resumed = newestSnapshot(dirB + "/ferry.db");
  expect(resumed.maxSeq).toBe(clean.maxSeq);
  expect(resumed.data.courses).toEqual(clean.data.courses);
  expect(resumed.data.global).toEqual(clean.data.global);
}, 90_000);
