import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import pino from "pino";
import { Queue, RetryLater, PermanentFailure, getJob, backoffDelay, type JobRow } from "../../src/queue";
import { openStore, type Store } from "../../src/store/db";
import { ManualClock } from "../helpers/clock";
import { tempDir, waitFor } from "../helpers/ferry";

const silent = pino({ level: "silent" });
let stores: Store[] = [];
let queues: Queue[] = [];

function setup(opts: { leaseMs?: number } = {}) {
  const store = openStore({ path: join(tempDir(), "q.db") });
  const clock = new ManualClock();
  const queue = new Queue(store, { log: silent, clock, leaseMs: opts.leaseMs ?? 30_000, random: () => 0.5 });
  stores.push(store);
  queues.push(queue);
  return { store, clock, queue };
}

function job(store: Store, id: number): JobRow {
  return getJob(store.db, id)!;
}

afterEach(async () => {
  for (const q of queues) await q.stop(100);
  for (const s of stores) s.close();
  stores = [];
  queues = [];
});

describe("queue", () => {
  test("a job enqueued in a transaction runs once and is marked done with its result", async () => {
    const { store, queue } = setup();
    const seen: unknown[] = [];
    queue.register<{ n: number }>("double", { handler: (j) => (seen.push(j.payload), { doubled: j.payload.n * 2 }) });
    queue.start();
    const { id } = await store.write((db) => queue.enqueue(db, { kind: "double", payload: { n: 21 } }));
    await waitFor(() => job(store, id).status === "done", 5000, "job done");
    expect(seen).toEqual([{ n: 21 }]);
    expect(JSON.parse(job(store, id).result!)).toEqual({ doubled: 42 });
    expect(job(store, id).attempts).toBe(1);
  });

  test("a job whose transaction rolls back is never enqueued", async () => {
    const { store, queue } = setup();
    queue.register("never", { handler: () => {} });
    queue.start();
    await expect(
      store.write((db) => {
        queue.enqueue(db, { kind: "never", payload: {}, dedupeKey: "rolled-back" });
        throw new Error("data insert failed");
      }),
    ).rejects.toThrow("data insert failed");
    expect(store.db.prepare("SELECT count(*) FROM jobs").pluck().get()).toBe(0);
  });

  test("dedupe keys: a second enqueue returns the first job and adds nothing", async () => {
    const { store, queue } = setup();
    queue.register("d", { handler: () => {} });
    const a = await store.write((db) => queue.enqueue(db, { kind: "d", payload: 1, dedupeKey: "k1" }));
    const b = await store.write((db) => queue.enqueue(db, { kind: "d", payload: 2, dedupeKey: "k1" }));
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false });
    expect(store.db.prepare("SELECT count(*) FROM jobs").pluck().get()).toBe(1);
  });

  test("failures back off exponentially, then the job is dead, kept, and replayable", async () => {
    const { store, queue, clock } = setup();
    let calls = 0;
    let fail = true;
    queue.register("flaky", {
      maxAttempts: 3,
      backoff: { type: "exponential", baseMs: 1000, maxMs: 60_000, jitter: 0 },
      handler: () => {
        calls++;
        if (fail) throw new Error(`boom ${calls}`);
        return "ok";
      },
    });
    queue.start();
    const t0 = clock.now();
    const { id } = await store.write((db) => queue.enqueue(db, { kind: "flaky", payload: null }));
    await waitFor(() => job(store, id).status === "retry", 5000, "first retry");
    expect(job(store, id).run_at).toBe(t0 + 1000);
    expect(job(store, id).last_error).toBe("boom 1");

    clock.advance(999);
    queue.wakeAll();
    await Bun.sleep(30);
    expect(calls).toBe(1); // not due yet

    clock.advance(1);
    queue.wakeAll();
    await waitFor(() => job(store, id).attempts === 2 && job(store, id).status === "retry", 5000, "second retry");
    expect(job(store, id).run_at).toBe(t0 + 1000 + 2000);

    clock.advance(2000);
    queue.wakeAll();
    await waitFor(() => job(store, id).status === "dead", 5000, "dead");
    expect(calls).toBe(3);
    expect(job(store, id).last_error).toBe("boom 3");

    fail = false;
    expect(await store.write((db) => queue.replay(db, id))).toBe(true);
    await waitFor(() => job(store, id).status === "done", 5000, "done after replay");
    expect(calls).toBe(4);
    expect(job(store, id).attempts).toBe(1);
  });

  test("an explicit schedule and RetryLater's exact delay are honoured", async () => {
    const { store, queue, clock } = setup();
    queue.register("sched", { maxAttempts: 5, backoff: { type: "schedule", delaysMs: [60_000, 120_000] }, handler: () => { throw new Error("x"); } });
    queue.register("later", { handler: () => { throw new RetryLater("rate limited", 7_000); } });
    queue.start();
    const t0 = clock.now();
    const a = await store.write((db) => queue.enqueue(db, { kind: "sched", payload: null }));
    const b = await store.write((db) => queue.enqueue(db, { kind: "later", payload: null }));
    await waitFor(() => job(store, a.id).status === "retry" && job(store, b.id).status === "retry", 5000);
    expect(job(store, a.id).run_at).toBe(t0 + 60_000);
    expect(job(store, b.id).run_at).toBe(t0 + 7_000);
    clock.advance(60_000);
    queue.wakeAll();
    await waitFor(() => job(store, a.id).attempts === 2 && job(store, a.id).status === "retry", 5000);
    expect(job(store, a.id).run_at).toBe(t0 + 60_000 + 120_000);
  });

  test("PermanentFailure goes to dead at once and onFail sees it as final in the same transaction", async () => {
    const { store, queue } = setup();
    store.db.exec("CREATE TABLE outcome (job INTEGER, final INTEGER, msg TEXT)");
    queue.register("perm", {
      maxAttempts: 10,
      handler: () => { throw new PermanentFailure("410 gone"); },
      onFail: (db, j, err, final) => void db.prepare("INSERT INTO outcome VALUES (?, ?, ?)").run(j.id, final ? 1 : 0, err.message),
    });
    queue.start();
    const { id } = await store.write((db) => queue.enqueue(db, { kind: "perm", payload: null }));
    await waitFor(() => job(store, id).status === "dead", 5000);
    expect(job(store, id).attempts).toBe(1);
    expect(store.db.prepare("SELECT * FROM outcome").all()).toEqual([{ job: id, final: 1, msg: "410 gone" }]);
  });

  test("per-kind concurrency is respected", async () => {
    const { store, queue } = setup();
    let running = 0;
    let peak = 0;
    queue.register("c2", {
      concurrency: 2,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await Bun.sleep(20);
        running--;
      },
    });
    queue.start();
    await store.write((db) => { for (let i = 0; i < 8; i++) queue.enqueue(db, { kind: "c2", payload: i }); });
    await waitFor(() => store.db.prepare("SELECT count(*) FROM jobs WHERE status = 'done'").pluck().get() === 8, 5000);
    expect(peak).toBe(2);
  });

  test("onComplete writes commit with the completion", async () => {
    const { store, queue } = setup();
    store.db.exec("CREATE TABLE effects (job INTEGER UNIQUE)");
    queue.register("fx", { handler: (j, ctx) => ctx.onComplete((db) => void db.prepare("INSERT INTO effects VALUES (?)").run(j.id)) });
    queue.start();
    const { id } = await store.write((db) => queue.enqueue(db, { kind: "fx", payload: null }));
    await waitFor(() => job(store, id).status === "done", 5000);
    expect(store.db.prepare("SELECT job FROM effects").pluck().all()).toEqual([id]);
  });

  test("an expired lease is recovered and the job runs again; a stale worker cannot complete it", async () => {
    const { store, queue, clock } = setup({ leaseMs: 1000 });
    let release!: () => void;
    let calls = 0;
    queue.register("hang", {
      concurrency: 2, // the frozen run keeps its slot in this process; a second slot runs the recovered job
      handler: async () => {
        calls++;
        if (calls === 1) await new Promise<void>((r) => (release = r));
        return calls;
      },
    });
    queue.start();
    const { id } = await store.write((db) => queue.enqueue(db, { kind: "hang", payload: null }));
    await waitFor(() => calls === 1, 5000);
    clock.advance(1001); // the lease (by the injected clock) is over; heartbeats use the same clock but real timers
    // Simulate a frozen worker: no heartbeat has landed, the lease expires.
    store.db.prepare("UPDATE jobs SET lease_until = ? WHERE id = ?").run(clock.now() - 1, id);
    expect(await queue.recover()).toBe(1);
    await waitFor(() => job(store, id).status === "done", 5000, "second run done");
    expect(calls).toBe(2);
    release(); // the first, stale run now finishes: its lease token no longer matches
    await Bun.sleep(30);
    expect(JSON.parse(job(store, id).result!)).toBe(2);
    expect(queue.outcomes().hang!.lost).toBe(1);
  });

  test("stop() waits for running jobs up to the deadline, then releases them without counting the attempt", async () => {
    const { store, queue } = setup();
    queue.register("slow", { handler: (_j, ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("aborted")))) });
    queue.start();
    const { id } = await store.write((db) => queue.enqueue(db, { kind: "slow", payload: null }));
    await waitFor(() => job(store, id).status === "running", 5000);
    const t = performance.now();
    await queue.stop(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(190);
    expect(job(store, id).status).toBe("queued");
    expect(job(store, id).attempts).toBe(0);
  });

  test("backoff: exponential is capped and jitter stays within its band", () => {
    const b = { type: "exponential" as const, baseMs: 1000, maxMs: 10_000, jitter: 0.2 };
    expect(backoffDelay(b, 1, () => 0.5)).toBe(1000);
    expect(backoffDelay(b, 3, () => 0.5)).toBe(4000);
    expect(backoffDelay(b, 10, () => 0.5)).toBe(10_000);
    expect(backoffDelay(b, 1, () => 0)).toBe(800);
    expect(backoffDelay(b, 1, () => 1)).toBe(1200);
    expect(backoffDelay({ type: "schedule", delaysMs: [60_000, 120_000, 240_000] }, 5)).toBe(240_000);
  });
});
