import type { Db } from "./sqlite";
import type { PgSql } from "./postgres/client";

export interface MoveProgress {
  table: string;
  copied: number;
  total: number;
}

export interface MoveResult {
  tables: Array<{ table: string; rows: number; inserted: number }>;
  /** SQLite tables PostgreSQL has no table for yet (features not ported): left where they are. */
  skipped: string[];
}

// Rows per INSERT stay under PostgreSQL's 65535 bind parameters.
const MAX_PARAMS = 60_000;

/** PostgreSQL tables of `schema` in an order where every referenced table comes first. */
async function tablesInOrder(sql: PgSql, schema: string): Promise<string[]> {
  const tables = (await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name`).map((r) => r.table_name as string);
  const deps = await sql`SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent FROM pg_constraint c
    JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = ${schema}`;
  const bare = (name: string) => name.replace(/^.*\./, "").replace(/"/g, "");
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const d of deps) if (bare(d.child) !== bare(d.parent)) parents.get(bare(d.child))?.add(bare(d.parent));
  const out: string[] = [];
  const visit = (t: string, seen: Set<string>) => {
    if (out.includes(t) || seen.has(t)) return;
    seen.add(t);
    for (const p of parents.get(t) ?? []) visit(p, seen);
    out.push(t);
  };
  for (const t of tables) visit(t, new Set());
  return out;
}

/**
 * Copies every row of the SQLite database into the PostgreSQL tables of the same name and
 * columns (both migrated to the same version first). Idempotent: rows already there (same
 * primary or unique key) are left alone, so an interrupted move is simply run again. Identity
 * sequences are moved past the copied ids, so new rows never collide with moved ones.
 */
export async function moveSqliteToPostgres(db: Db, sql: PgSql, schema: string, options: { batch?: number; progress?: (p: MoveProgress) => void } = {}): Promise<MoveResult> {
  const sqliteTables = new Set(
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").pluck().all() as string[],
  );
  const result: MoveResult = { tables: [], skipped: [] };
  const pgTables = await tablesInOrder(sql, schema);
  for (const table of pgTables) {
    if (!sqliteTables.has(table)) continue;
    sqliteTables.delete(table);
    const pgColumns = new Set((await sql`SELECT column_name FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = ${table}`).map((r) => r.column_name as string));
    const columns = (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]).filter((c) => pgColumns.has(c));
    const total = db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
    const batch = Math.max(1, Math.min(options.batch ?? 1000, Math.floor(MAX_PARAMS / columns.length)));
    // Keyset paging: by rowid, or by the primary key where the table is WITHOUT ROWID.
    const withoutRowid = /\bWITHOUT\s+ROWID\s*;?\s*$/i.test((db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").pluck().get(table) as string).trim());
    const key = withoutRowid
      ? (db.prepare("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk").pluck().all(table) as string[])
      : ["rowid"];
    const ident = (c: string) => (c === "rowid" ? c : `"${c}"`);
    const keyList = key.map(ident).join(", ");
    const select = `SELECT ${key.map((c, i) => `${ident(c)} AS __k${i}`).join(", ")}, ${columns.map((c) => `"${c}"`).join(", ")} FROM "${table}"`;
    const readFirst = db.prepare(`${select} ORDER BY ${keyList} LIMIT ?`);
    const readAfter = db.prepare(`${select} WHERE (${keyList}) > (${key.map(() => "?").join(", ")}) ORDER BY ${keyList} LIMIT ?`);
    let last: unknown[] | null = null;
    let copied = 0;
    let inserted = 0;
    for (;;) {
      const rows = (last ? readAfter.all(...last, batch) : readFirst.all(batch)) as Array<Record<string, unknown>>;
      if (!rows.length) break;
      const end = rows.at(-1)!;
      last = key.map((_, i) => end[`__k${i}`]);
      for (const r of rows) for (let i = 0; i < key.length; i++) delete r[`__k${i}`];
      const out = await sql`INSERT INTO ${sql(table)} ${sql(rows as never, columns)} ON CONFLICT DO NOTHING`;
      inserted += out.count;
      copied += rows.length;
      options.progress?.({ table, copied, total });
    }
    // Identity columns: the next generated id must come after the copied ones.
    const identities = await sql`SELECT column_name FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = ${table} AND is_identity = 'YES'`;
    for (const { column_name } of identities) {
      await sql`SELECT setval(pg_get_serial_sequence(${`${schema}.${table}`}, ${column_name}), greatest((SELECT max(${sql(column_name)}) FROM ${sql(table)}), 1))`;
    }
    result.tables.push({ table, rows: copied, inserted });
  }
  result.skipped = [...sqliteTables].sort();
  return result;
}
