// A queue worker in its own process, for crash and contention tests.
// usage: bun worker-child.ts DB_PATH LEASE_MS CONCURRENCY
import pino from "pino";
import { Queue } from "../../src/queue";
import { openStore } from "../../src/store/db";

const [dbPath, leaseMs, concurrency] = process.argv.slice(2);
const store = openStore({ path: dbPath! });
store.db.exec("CREATE TABLE IF NOT EXISTS runs (job_id INTEGER, pid INTEGER, attempt INTEGER, phase TEXT)");
const queue = new Queue(store, { log: pino({ level: "silent" }), leaseMs: Number(leaseMs) });
queue.register<{ hangOnFirstAttempt?: boolean; sleepMs?: number }>("task", {
  concurrency: Number(concurrency ?? 2),
  handler: async (job, ctx) => {
    await store.write((db) => db.prepare("INSERT INTO runs VALUES (?, ?, ?, 'start')").run(job.id, process.pid, job.attempt));
    if (job.payload.hangOnFirstAttempt && job.attempt === 1) await new Promise(() => {});
    if (job.payload.sleepMs) await Bun.sleep(job.payload.sleepMs);
    ctx.onComplete((db) => void db.prepare("INSERT INTO runs VALUES (?, ?, ?, 'end')").run(job.id, process.pid, job.attempt));
    return { pid: process.pid };
  },
});
queue.start();
// The daemon's rescuer runs on a croner schedule; here a short interval does the same.
setInterval(() => {
  void queue.recover();
  queue.wakeAll();
}, 100);
console.log("ready");
