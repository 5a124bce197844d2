// PostgreSQL migrations, embedded as text like the SQLite ones and recorded in the schema's own
// schema_migrations table. Numbering follows the SQLite registry (1-9 core, …) so one version
// means the same tables on both drivers.
import type { Migration } from "../migrations";
import core001 from "./migrations/001_core.sql" with { type: "text" };
import type { PgSql } from "./client";
import { quoteIdent } from "./client";

export const pgCoreMigrations: Migration[] = [{ version: 1, name: "001_core", sql: core001 }];

// Any constant works; it only has to be the same on every node (nodes starting together migrate once).
const MIGRATION_LOCK = 0x66657279;

/** Applies what is missing, all in one transaction under an advisory lock, so N nodes starting at once are safe. */
export async function migratePg(sql: PgSql, schema: string, list: Migration[] = pgCoreMigrations): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await tx.unsafe(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;
    const done = new Set((await tx`SELECT version FROM schema_migrations`).map((r) => r.version as number));
    const applied: number[] = [];
    for (const m of [...list].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${Date.now()})`;
      applied.push(m.version);
    }
    return applied;
  });
}

export async function pgSchemaVersion(sql: PgSql): Promise<number> {
  const [row] = await sql`SELECT coalesce(max(version), 0) AS v FROM schema_migrations`;
  return Number(row!.v);
}
