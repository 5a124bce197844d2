// Enqueues through a driver's group commit from many concurrent "requests" and prints each job
// id the moment its write is acknowledged (the moment a route would answer 2xx).
// usage: bun writer-child.ts sqlite PATH CONCURRENCY | bun writer-child.ts postgres URL SCHEMA CONCURRENCY
import { openDriver } from "../../src/store/driver/open";

const [name, where, ...rest] = process.argv.slice(2);
const driver =
  name === "sqlite"
    ? await openDriver({ driver: "sqlite", path: where!, durability: "full" })
    : await openDriver({ driver: "postgres", url: where!, schema: rest.shift()!, pool: 4, nodeId: "writer" });
const concurrency = Number(rest[0] ?? 32);
async function client(c: number) {
  for (let i = 0; ; i++) {
    try {
      const [job] = await driver.enqueue([{ kind: "durable", payload: { c, i, pad: "x".repeat(64) } }], 5, Date.now());
      process.stdout.write(`${job!.id}\n`);
    } catch {
      await Bun.sleep(20); // not acknowledged (the server went away): a client would retry
    }
  }
}
for (let c = 0; c < concurrency; c++) void client(c);
