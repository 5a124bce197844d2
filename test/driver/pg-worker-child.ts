// A queue node on PostgreSQL in its own process, for the failover test.
// usage: bun pg-worker-child.ts URL SCHEMA NODE_ID LEASE_MS [hang]  (hang: every job freezes after its start, until the node is killed)
import pino from "pino";
import { Queue } from "../../src/queue";
import { openDriver } from "../../src/store/driver/open";
import type { PgTx } from "../../src/store/postgres/client";

const [url, schema, nodeId, leaseMs, hang] = process.argv.slice(2);
const driver = await openDriver({ driver: "postgres", url: url!, schema: schema!, pool: 4, nodeId: nodeId! });
const queue = new Queue<PgTx>(driver, { log: pino({ level: "silent" }), leaseMs: Number(leaseMs) });
queue.register<{ sleepMs: number }>("task", {
  concurrency: 4,
  handler: async (job, ctx) => {
    await driver.write((tx) => tx`INSERT INTO runs VALUES (${job.id}, ${nodeId!}, ${job.attempt}, 'start')`);
    if (hang === "hang") await new Promise(() => {});
    await Bun.sleep(job.payload.sleepMs);
    // The effect commits with the completion, or not at all.
    ctx.onComplete(async (tx) => void (await tx`INSERT INTO runs VALUES (${job.id}, ${nodeId!}, ${job.attempt}, 'end')`));
  },
});
await driver.ready();
queue.start();
// The rescuer runs on a croner schedule in the daemon; a short interval does the same here.
setInterval(() => void queue.recover().then(() => queue.wakeAll()).catch(() => {}), 200);
console.log("ready");
