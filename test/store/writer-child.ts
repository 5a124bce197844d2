// Writes through the store's group commit from many concurrent "requests" and prints each id
// the moment its write is acknowledged (the moment a route would answer 2xx).
// usage: bun writer-child.ts DB_PATH CONCURRENCY
import { openStore } from "../../src/store/db";
import { prepared } from "../../src/store/prepared";

const [dbPath, concurrency] = process.argv.slice(2);
const store = openStore({ path: dbPath!, durability: "full" });
store.db.exec("CREATE TABLE IF NOT EXISTS acks (id TEXT PRIMARY KEY, body TEXT NOT NULL)");
let seq = 0;
async function client(c: number) {
  for (;;) {
    const id = `${c}-${seq++}`;
    await store.write((db) => prepared(db, "INSERT INTO acks (id, body) VALUES (?, ?)").run(id, "x".repeat(64)));
    process.stdout.write(`${id}\n`);
  }
}
for (let c = 0; c < Number(concurrency ?? 32); c++) void client(c);
