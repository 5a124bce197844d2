import type { Db, Statement } from "./sqlite";

const cache = new WeakMap<Db, Map<string, Statement>>();

/** Prepares `sql` once per database and reuses the statement afterwards. */
export function prepared<P extends unknown[] | {} = unknown[], R = unknown>(db: Db, sql: string): Statement<P, R> {
  let perDb = cache.get(db);
  if (!perDb) cache.set(db, (perDb = new Map()));
  let stmt = perDb.get(sql);
  if (!stmt) perDb.set(sql, (stmt = db.prepare(sql)));
  return stmt as unknown as Statement<P, R>;
}
