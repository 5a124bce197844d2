// Opens the configured database for `ferry serve`: the SQLite store (migrated, instance-locked) or
// the PostgreSQL driver (migrated under an advisory lock, so N nodes starting at once are safe).
import type { Logger } from "pino";
import type { Config } from "../config/schema";
import type { Migration } from "./migrations";
import { Queue, type Clock } from "../queue";
import { openStore } from "./db";
import { PostgresDriver } from "./driver/postgres";
import { SqliteDriver } from "./driver/sqlite";
import type { PgTx } from "./postgres/client";
import type { Db } from "./sqlite";
import type { Storage } from "./storage";

export class StorageOpenError extends Error {}

export async function openStorage(
  config: Config,
  migrations: { sqlite: Migration[]; postgres: Migration[] },
  opts: { nodeId: string; log: Logger; clock: Clock },
): Promise<Storage> {
  const s = config.storage;
  const queueOptions = { log: opts.log.child({ component: "queue" }), clock: opts.clock, leaseMs: config.queue.lease };
  if (s.driver === "sqlite") {
    const store = openStore({ path: s.path, durability: s.durability, busyTimeoutMs: s.busy_timeout, lock: "serve" }, migrations.sqlite);
    const driver = new SqliteDriver(store);
    return { kind: "sqlite", store, driver, queue: new Queue<Db>(driver, queueOptions) };
  }
  const driver = new PostgresDriver({ url: s.url!, pool: s.pool, schema: s.schema, nodeId: opts.nodeId, migrations: migrations.postgres });
  try {
    await driver.migrate();
  } catch (err) {
    await driver.close().catch(() => {});
    // The URL may carry a password: name the host only.
    throw new StorageOpenError(`cannot open PostgreSQL at ${hostOf(s.url!)} (storage.url), schema ${s.schema}: ${(err as Error).message}`);
  }
  return { kind: "postgres", driver, queue: new Queue<PgTx>(driver, queueOptions) };
}

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}
