import type { Config } from "../config/schema";
import { nodeIdOf } from "../config/schema";
import { allPgMigrations } from "../modules";
import { InputLineError } from "../modules/moodle/csv";
import { fileSize, readLogs, toRows, type ImportSummary } from "../modules/moodle/importer";
import { storeBatchPg } from "../modules/moodle/writer-pg";
import { PostgresDriver } from "../store/driver/postgres";
import { DataError, UsageError } from "./common";

/**
 * `ferry import` with storage.driver postgres: the file's logs are stored as pending events of
 * their courses, in chunks (each one commit; a re-run skips stored logs by dkey). The nodes that
 * own the courses' shards learn from them as from live ingest, so the cluster may keep running;
 * with no node running they wait until one starts.
 */
export async function importIntoPostgres(config: Config, file: string, opts: { batch: number; progress: boolean; structure: boolean }): Promise<void> {
  if (opts.structure) {
    throw new UsageError("--course-structure on PostgreSQL: post the structure to any running node instead (POST /api/v1/courses/{id}/structure, see the README), then import the logs");
  }
  const s = config.storage;
  const driver = new PostgresDriver({ url: s.url!, pool: 2, schema: s.schema, nodeId: `${nodeIdOf(config)} import`, migrations: allPgMigrations });
  const summary: ImportSummary = { rows: 0, inserted: 0, duplicates: 0, invalid: 0, firstErrors: [], transitions: 0, seconds: 0 };
  const started = performance.now();
  const total = fileSize(file);
  try {
    await driver.migrate();
    let bytes = 0;
    // Chunks of at most 10,000 rows: one INSERT over unnest() arrays each, a few MB per commit.
    for (const logs of readLogs(file, Math.min(opts.batch, 10_000), (b) => (bytes = b))) {
      const rows = toRows(logs, summary.rows, summary);
      const r = await driver.write((tx, w) => storeBatchPg(tx, w, rows, null, Date.now(), config.cluster.shards));
      summary.rows += logs.length;
      summary.inserted += r.accepted;
      summary.duplicates += r.duplicates;
      if (opts.progress) process.stderr.write(`\rferry: ${summary.rows} rows (${Math.round((100 * bytes) / Math.max(total, 1))}%) `);
    }
  } catch (err) {
    if (!(err instanceof InputLineError)) throw err;
    if (opts.progress) process.stderr.write("\n");
    throw new DataError(`${file}: ${err.message}. The import stopped there; rows committed before it stay, and a re-run skips them as duplicates: fix the file and run the import again`);
  } finally {
    await driver.close();
  }
  if (opts.progress) process.stderr.write("\n");
  summary.seconds = (performance.now() - started) / 1000;
  const rate = Math.round(summary.rows / Math.max(summary.seconds, 1e-9));
  console.log(
    `ferry: imported ${file} into PostgreSQL schema ${s.schema}: ${summary.rows} rows, ${summary.inserted} new, ${summary.duplicates} duplicates, ${summary.invalid} invalid; ` +
      `${summary.seconds.toFixed(1)} s (${rate} rows/s); the owners of the courses' shards learn from them (GET /health: recommender.pending_events)`,
  );
  for (const e of summary.firstErrors) console.log(`  invalid: ${e}`);
}
