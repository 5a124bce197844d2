import postgres from "postgres";

export interface PgOptions {
  url: string;
  /** Connections in the pool (LISTEN takes one more of its own). */
  pool: number;
  /** ferry's own schema, so it can share Moodle's database. */
  schema: string;
  /** Shown in pg_stat_activity.application_name. */
  nodeId: string;
}

// int8 as a JS number: ids and unix-ms times stay far below 2^53, and a JobRow must look the
// same on both drivers (porsager returns int8 as a string by default).
const int8 = { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) };

export function connectPg(options: PgOptions) {
  return postgres(options.url, {
    max: options.pool,
    types: { int8 },
    onnotice: () => {},
    // Set per connection at start-up: every query sees ferry's schema first, and a commit returns
    // only once it is flushed to the WAL on disk (2xx means durable), whatever the server default.
    connection: {
      search_path: options.schema,
      synchronous_commit: "on",
      application_name: `ferry ${options.nodeId}`.slice(0, 63),
    },
  });
}

export type PgSql = ReturnType<typeof connectPg>;
export type PgTx = postgres.TransactionSql<{ int8: number }>;
/** Where a read can run: the pool or a transaction. */
export type PgExec = PgSql | PgTx;

/** A schema name as a quoted identifier (config-supplied, so validated by the config schema too). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
