// Which database a ferry process runs on, as features see it. A feature picks its SQL by `kind`
// (River's way: one interface per feature, one implementation per database), so SQLite keeps its
// synchronous transactions and PostgreSQL its pipelined async ones.
import type { Queue } from "../queue/worker";
import type { Store } from "./db";
import type { PostgresDriver } from "./driver/postgres";
import type { SqliteDriver } from "./driver/sqlite";
import type { PgTx } from "./postgres/client";
import type { Db } from "./sqlite";

export interface SqliteStorage {
  readonly kind: "sqlite";
  /** The embedded store: `store.write(db => …)` group commit, `store.db` for reads. */
  readonly store: Store;
  readonly driver: SqliteDriver;
  readonly queue: Queue<Db>;
}

export interface PostgresStorage {
  readonly kind: "postgres";
  /** `driver.write(async (tx, w) => …)` group commit, `driver.sql` (the pool) for reads. */
  readonly driver: PostgresDriver;
  readonly queue: Queue<PgTx>;
}

export type Storage = SqliteStorage | PostgresStorage;

/** A write transaction handed across features: better-sqlite3's Db (synchronous) or porsager's PgTx (await every call). */
export type WriteTx = Db | PgTx;

/** porsager's transaction is a tagged-template function; better-sqlite3's Database is an object. */
export function isPgTx(tx: WriteTx): tx is PgTx {
  return typeof tx === "function";
}

/** Thrown where SQLite-only code is reached on PostgreSQL (ctx.store on the postgres driver). */
export class NoPgImplementation extends Error {
  constructor(what: string) {
    super(`${what} has no PostgreSQL implementation`);
  }
}
