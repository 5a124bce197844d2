import { parseArgs } from "node:util";
import { allMigrations, allPgMigrations } from "../modules";
import { existsSync } from "node:fs";
import { loadConfig } from "../config/load";
import { nodeIdOf } from "../config/schema";
import { openStore } from "../store/db";
import { PostgresDriver } from "../store/driver/postgres";
import { moveSqliteToPostgres } from "../store/move";
import { UsageError } from "./common";

/**
 * ferry move-to-postgres [--batch N] [--quiet]: copies the SQLite database at storage.path into
 * PostgreSQL at storage.url / storage.schema. Holds the SQLite instance lock (no ferry may be
 * writing the file meanwhile); safe to run again after an interruption.
 */
export async function moveToPostgresCommand(configPath: string, args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args, allowPositionals: true, options: { config: { type: "string", short: "c" }, batch: { type: "string" }, quiet: { type: "boolean" } } }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const batch = values.batch === undefined ? 1000 : Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch: expected a positive integer, got "${values.batch}"`);
  const config = loadConfig(configPath);
  const s = config.storage;
  if (!s.url) throw new UsageError("move-to-postgres needs storage.url (the PostgreSQL to move into); storage.path is the SQLite file it reads");
  if (!existsSync(s.path)) throw new UsageError(`no SQLite database at storage.path ${s.path}`);
  // Migrating the SQLite file first gives both sides the same tables and columns.
  const store = openStore({ path: s.path, durability: s.durability, busyTimeoutMs: s.busy_timeout, lock: "move-to-postgres" }, allMigrations);
  const pg = new PostgresDriver({ url: s.url, pool: 2, schema: s.schema, nodeId: `${nodeIdOf(config)} move`, migrations: allPgMigrations });
  try {
    await pg.migrate();
    let lastTable = "";
    const result = await moveSqliteToPostgres(store.db, pg.sql, s.schema, {
      batch,
      progress: values.quiet
        ? undefined
        : (p) => {
            if (p.table !== lastTable || p.copied === p.total || p.copied % (batch * 10) < batch) console.error(`ferry: ${p.table}: ${p.copied}/${p.total} rows`);
            lastTable = p.table;
          },
    });
    for (const t of result.tables) console.log(`ferry: moved ${t.table}: ${t.rows} rows read, ${t.inserted} new in PostgreSQL`);
    if (result.skipped.length) console.log(`ferry: not moved (no PostgreSQL table yet, see README "Scale out"): ${result.skipped.join(", ")}`);
  } finally {
    await pg.close();
    store.close();
  }
}
