import { expect, test } from "bun:test";
import { join } from "node:path";
import pino from "pino";
import { Queue, getJob } from "../../src/queue";
import { openStore } from "../../src/store/db";
import { BUN, tempDir, waitFor } from "../helpers/ferry";

const CHILD = join(import.meta.dir, "worker-child.ts");

function spawnWorker(db: string, leaseMs: number, concurrency = 2) {
  return Bun.spawn([BUN, CHILD, db, String(leaseMs), String(concurrency)], { stdout: "pipe", stderr: "inherit" });
}

/** Resolves once the worker printed "ready" (its queue is started). */
async function ready(proc: ReturnType<typeof spawnWorker>): Promise<void> {
  let out = "";
  for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
    out += new TextDecoder().decode(chunk);
    if (out.includes("ready")) return;
  }
  throw new Error("worker exited before it was ready");
}

function seed(db: string, jobs: Array<Record<string, unknown>>): number[] {
  const store = openStore({ path: db });
  store.db.exec("CREATE TABLE IF NOT EXISTS runs (job_id INTEGER, pid INTEGER, attempt INTEGER, phase TEXT)");
  const queue = new Queue(store, { log: pino({ level: "silent" }) });
  const ids = store.writeNow((tx) => jobs.map((payload) => queue.enqueue(tx, { kind: "task", payload }).id));
  store.close();
  return ids;
}

test("a worker killed with SIGKILL mid-job: the job is recovered after the lease expires and runs once to completion", async () => {
  const db = join(tempDir(), "crash.db");
  const [id] = seed(db, [{ hangOnFirstAttempt: true }]);
  const first = spawnWorker(db, 1000);
  const store = openStore({ path: db, readonly: true });
  const runs = () => store.db.prepare("SELECT pid, attempt, phase FROM runs WHERE job_id = ? ORDER BY rowid").all(id) as Array<{ pid: number; attempt: number; phase: string }>;
  await waitFor(() => runs().length === 1, 10_000, "first run started");
  first.kill("SIGKILL");
  await first.exited;
  expect(getJob(store.db, id!)!.status).toBe("running"); // the dead worker still holds the lease

  const second = spawnWorker(db, 1000);
  try {
    await waitFor(() => getJob(store.db, id!)!.status === "done", 15_000, "job done after recovery");
    const r = runs();
    expect(r.map((x) => `${x.attempt}:${x.phase}`)).toEqual(["1:start", "2:start", "2:end"]);
    expect(r[1]!.pid).toBe(second.pid);
    expect(getJob(store.db, id!)!.attempts).toBe(2);
  } finally {
    second.kill("SIGKILL");
    store.close();
  }
});

test("two worker processes on one database never run the same job", async () => {
  const db = join(tempDir(), "contention.db");
  seed(db, []);
  const workers = [spawnWorker(db, 30_000, 4), spawnWorker(db, 30_000, 4)];
  await Promise.all(workers.map(ready));
  // Both workers are polling before any job exists, so both really compete for every job.
  const ids = seed(db, Array.from({ length: 300 }, (_, i) => ({ sleepMs: 1 + (i % 3) })));
  const store = openStore({ path: db, readonly: true });
  try {
    await waitFor(() => store.db.prepare("SELECT count(*) FROM jobs WHERE status = 'done'").pluck().get() === ids.length, 30_000, "all jobs done");
    const starts = store.db.prepare("SELECT job_id, count(*) AS n FROM runs WHERE phase = 'start' GROUP BY job_id").all() as Array<{ job_id: number; n: number }>;
    expect(starts.length).toBe(ids.length);
    expect(starts.filter((s) => s.n !== 1)).toEqual([]);
    const pids = store.db.prepare("SELECT DISTINCT pid FROM runs").pluck().all();
    expect(pids.length).toBe(2); // both processes really competed
  } finally {
    for (const w of workers) w.kill("SIGKILL");
    store.close();
  }
});
