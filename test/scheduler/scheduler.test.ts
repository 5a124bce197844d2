import { afterAll, expect, test } from "bun:test";
import { startFerry, waitFor } from "../helpers/ferry";

const ferry = await startFerry();
afterAll(() => ferry.stop());

test("maintenance services run on their croner schedule and /health shows last run and last error", async () => {
  let runs = 0;
  ferry.daemon.ctx.scheduler.add({ name: "test.every-second", pattern: "* * * * * *", run: () => void runs++ });
  ferry.daemon.ctx.scheduler.add({
    name: "test.failing",
    pattern: "* * * * * *",
    run: () => {
      throw new Error("disk on fire");
    },
  });
  await waitFor(() => runs >= 1, 3000, "a scheduled run");
  const health = (await (await ferry.request("GET", "/health")).json()) as any;
  const ok = health.scheduler.find((s: any) => s.name === "test.every-second");
  expect(ok.runs).toBeGreaterThanOrEqual(1);
  expect(ok.ok).toBe(true);
  expect(Date.parse(ok.last_run_at)).toBeGreaterThan(Date.now() - 5000);
  expect(Date.parse(ok.next_run_at)).toBeGreaterThan(Date.now() - 1000);
  const bad = health.scheduler.find((s: any) => s.name === "test.failing");
  expect(bad.ok).toBe(false);
  expect(bad.last_error).toBe("disk on fire");
  expect(health.status).toBe("degraded");
});

test("the rescuer recovers an expired lease on its own schedule", async () => {
  const { store, queue } = ferry.daemon.ctx;
  let calls = 0;
  queue.register("sched.test", { handler: () => ++calls });
  // A job left 'running' by a worker that died: its lease is already over.
  const id = store.writeNow((db) =>
    Number(
      db
        .prepare("INSERT INTO jobs (kind, payload, status, run_at, attempts, max_attempts, lease_until, lease_token, created_at, updated_at) VALUES ('sched.test', 'null', 'running', 0, 1, 5, ?, 'dead-worker', 0, 0)")
        .run(Date.now() - 1000).lastInsertRowid,
    ),
  );
  await waitFor(() => store.db.prepare("SELECT status FROM jobs WHERE id = ?").pluck().get(id) === "done", 8000, "recovered job done");
  expect(calls).toBe(1);
});
