import { parseArgs } from "node:util";
import { allMigrations } from "../modules";
import { existsSync } from "node:fs";
import pino from "pino";
import { loadConfig } from "../config/load";
import { openStore } from "../store/db";
import { InstanceLockedError } from "../store/lock";
import type { Config } from "../config/schema";
import { Engine } from "../modules/recommender/engine";
import { fileSize, readLogs, toRows, type ImportSummary } from "../modules/moodle/importer";
import { ingestRows, loadStructureFile, refreshDeferred } from "../modules/recommender/history";
import type { Learner } from "../modules/recommender/state";
import { InputLineError } from "../modules/moodle/csv";
import { DataError, UsageError } from "./common";
import { importIntoPostgres } from "./import-pg";

/** ferry import FILE [--course-structure FILE] [--course-id N] [--batch N]: history through the live pipeline. */
export async function importCommand(configPath: string, args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: "string", short: "c" }, "course-structure": { type: "string" }, "course-id": { type: "string" }, batch: { type: "string" }, quiet: { type: "boolean" } },
  });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  // argv as given: the command name first, then its file.
  const file = positionals[0] === "import" ? positionals[1] : positionals[0];
  if (!file) throw new UsageError("import needs a FILE (logstore CSV export or JSONL of observer payloads)");
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const config = loadConfig(configPath);
  const batch = values.batch ? Number(values.batch) : 100_000;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch: expected a positive integer, got "${values.batch}"`);
  if (config.storage.driver === "postgres") {
    return importIntoPostgres(config, file, { batch, progress: !values.quiet && process.stderr.isTTY, structure: Boolean(values["course-structure"]) });
  }
  const store = openImportStore(config);
  const engine = new Engine(store, () => config, pino({ level: "silent" }));
  engine.load();
  // Import-only settings (the daemon keeps its own). WAL with synchronous=NORMAL cannot corrupt
  // the file on a crash, it can only lose the last commits; each commit holds a chunk's logs with
  // their pipeline results, and a re-run skips stored logs (dkey), so re-running the import after
  // a crash completes it. The end checkpoints the WAL into the file with fsync (below).
  const synchronous = store.db.pragma("synchronous", { simple: true });
  store.db.pragma("synchronous = NORMAL");
  // A bigger page cache (64 MiB) for the log_events/state_history b-trees during the bulk insert.
  store.db.pragma("cache_size = -65536");
  try {
    if (values["course-structure"]) {
      const s = loadStructureFile(store, engine, values["course-structure"], values["course-id"] ? Number(values["course-id"]) : undefined);
      console.error(`ferry: course structure loaded: course ${s.course_id}, ${s.modules} modules`);
    }
    const summary = importOrExplain(store, engine, file, { batch, progress: !values.quiet && process.stderr.isTTY });
    // A snapshot now, so the daemon's next start does not replay the whole history.
    store.writeNow((db) => engine.snapshot(db, Date.now()));
    // Durable before we report success: back to the configured level, then a full checkpoint
    // (syncs the WAL, copies it into the database file, syncs that, truncates the WAL).
    store.db.pragma(`synchronous = ${synchronous}`);
    store.checkpoint();
    const rate = Math.round(summary.rows / Math.max(summary.seconds, 1e-9));
    console.log(
      `ferry: imported ${file}: ${summary.rows} rows, ${summary.inserted} new, ${summary.duplicates} duplicates, ${summary.invalid} invalid; ` +
        `${summary.transitions} learner transitions; ${summary.seconds.toFixed(1)} s (${rate} rows/s)`,
    );
    for (const e of summary.firstErrors) console.log(`  invalid: ${e}`);
  } finally {
    store.close();
  }
}

/** A broken file stops the import with the line to fix; what came before it is committed and a re-run skips it. */
function importOrExplain(store: ReturnType<typeof openStore>, engine: Engine, file: string, opts: { batch: number; progress: boolean }): ImportSummary {
  try {
    return runImport(store, engine, file, opts);
  } catch (err) {
    if (!(err instanceof InputLineError)) throw err;
    if (opts.progress) process.stderr.write("\n");
    throw new DataError(`${file}: ${err.message}. The import stopped there; rows committed before it stay, and a re-run skips them as duplicates: fix the file and run the import again`);
  }
}

/** The import refuses (never waits) when a daemon holds the database: its Q-tables live in that daemon's memory. */
function openImportStore(config: Config): ReturnType<typeof openStore> {
  try {
    return openStore({ path: config.storage.path, durability: config.storage.durability, busyTimeoutMs: config.storage.busy_timeout, lock: "import" }, allMigrations);
  } catch (err) {
    if (!(err instanceof InstanceLockedError)) throw err;
    throw new InstanceLockedError(`${err.message}. Stop it first (systemctl stop ferry), run the import, then start it again`);
  }
}

export function runImport(store: ReturnType<typeof openStore>, engine: Engine, file: string, opts: { batch: number; progress: boolean }): ImportSummary {
  const total = fileSize(file);
  const started = performance.now();
  const summary: ImportSummary = { rows: 0, inserted: 0, duplicates: 0, invalid: 0, firstErrors: [], transitions: 0, seconds: 0 };
  let lastDraw = 0;
  const draw = (bytes: number, force = false) => {
    if (!opts.progress) return;
    const now = performance.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const frac = total ? Math.min(1, bytes / total) : 1;
    const width = 30;
    const filled = Math.round(frac * width);
    const rate = Math.round(summary.rows / Math.max((now - started) / 1000, 1e-9));
    process.stderr.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${summary.rows} rows  ${rate} rows/s `);
  };
  let bytesRead = 0;
  const deferred = new Map<Learner, Set<number>>();
  const chunk = (logs: unknown[]) => {
    const rows = toRows(logs, summary.rows, summary);
    const r = ingestRows(store, engine, rows, Date.now(), deferred);
    summary.rows += logs.length;
    summary.inserted += r.inserted;
    summary.duplicates += rows.length - r.inserted;
    summary.transitions += r.transitions;
  };
  const chunks = readLogs(file, opts.batch, (b) => (bytesRead = b));
  for (let next = chunks.next(); !next.done; next = chunks.next()) {
    chunk(next.value);
    // Nothing of the chunk is reachable now (not `next`, not the generator): a full collection
    // frees it at the cost of tracing only the engine's state. Without it the heap grows over
    // several chunks before JSC collects.
    next.value = [];
    Bun.gc(true);
    draw(bytesRead);
  }
  refreshDeferred(store, engine, deferred);
  draw(total, true);
  if (opts.progress) process.stderr.write("\n");
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
