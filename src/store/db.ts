import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Database, type Db } from "./sqlite";
import { allMigrations, type Migration } from "./migrations";

export type { Db };

export interface StoreOptions {
  path: string;
  durability?: "full" | "normal";
  busyTimeoutMs?: number;
  readonly?: boolean;
}

export class StoreOpenError extends Error {}

interface PendingWrite {
  fn: (db: Db) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The SQLite store. Writes go through `write()`: every write queued during one event-loop turn
 * runs in one transaction (each in its own savepoint, so one failing write does not sink the
 * others), and each promise settles only after that transaction committed. With
 * synchronous=FULL a resolved write is on disk: that is what lets a route answer 2xx.
 */
export class Store {
  readonly db: Db;
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private commitListeners: Array<() => void> = [];
  commits = 0;
  lastCommitAt = 0;
  lastCommitError: { at: number; message: string } | null = null;

  constructor(readonly options: StoreOptions) {
    if (options.path !== ":memory:" && !options.readonly) {
      try {
        mkdirSync(dirname(options.path), { recursive: true });
      } catch (err) {
        throw new StoreOpenError(`cannot create data directory ${dirname(options.path)}: ${(err as NodeJS.ErrnoException).code}`);
      }
    }
    try {
      this.db = new Database(options.path, { readonly: options.readonly ?? false, timeout: options.busyTimeoutMs ?? 5000 });
      if (!options.readonly) {
        this.db.pragma("journal_mode = WAL");
        this.db.pragma(`synchronous = ${options.durability === "normal" ? "NORMAL" : "FULL"}`);
        this.db.pragma("foreign_keys = ON");
        // Probe that the file is really writable now rather than at the first request.
        this.db.exec("BEGIN IMMEDIATE; COMMIT;");
      }
    } catch (err) {
      throw new StoreOpenError(`cannot open database ${options.path}: ${(err as Error).message}`);
    }
  }

  /**
   * Applies every migration not yet recorded in schema_migrations, in version order, each in its
   * own transaction; PRAGMA user_version mirrors the highest one. A table rather than user_version
   * alone, so a feature's migration numbered below another feature's still applies.
   */
  migrate(list: Migration[] = allMigrations): number[] {
    this.db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    const done = new Set((this.db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[]));
    const applied: number[] = [];
    for (const m of [...list].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(m.version, m.name, Date.now());
        const top = this.db.prepare("SELECT max(version) FROM schema_migrations").pluck().get() as number;
        this.db.pragma(`user_version = ${top}`);
      })();
      applied.push(m.version);
    }
    return applied;
  }

  get schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  /** Queues `fn` into the current group commit; resolves with its result once committed. */
  write<T>(fn: (db: Db) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs `fn` in its own transaction right now (CLI tools, start-up, tests). */
  writeNow<T>(fn: (db: Db) => T): T {
    return this.db.transaction(fn)(this.db);
  }

  /** Called after every successful group commit (the queue wakes its workers here). */
  onCommit(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  /** Commits whatever is queued now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const results: Array<{ ok: boolean; value: unknown }> = new Array(batch.length);
    try {
      this.db.transaction(() => {
        for (let i = 0; i < batch.length; i++) {
          const fn = batch[i]!.fn;
          try {
            // A nested better-sqlite3 transaction is a SAVEPOINT: a throwing write rolls back alone.
            results[i] = { ok: true, value: this.db.transaction(fn)(this.db) };
          } catch (error) {
            results[i] = { ok: false, value: error };
          }
        }
      })();
    } catch (error) {
      this.lastCommitError = { at: Date.now(), message: (error as Error).message };
      for (const p of batch) p.reject(error);
      return;
    }
    this.commits++;
    this.lastCommitAt = Date.now();
    this.lastCommitError = null;
    for (let i = 0; i < batch.length; i++) {
      const r = results[i]!;
      if (r.ok) batch[i]!.resolve(r.value);
      else batch[i]!.reject(r.value);
    }
    for (const l of this.commitListeners) l();
  }

  /** A cheap liveness probe for /health: the file answers and the last commit did not fail. */
  check(): { ok: boolean; error?: string } {
    try {
      this.db.prepare("SELECT 1").get();
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    if (this.lastCommitError) return { ok: false, error: `last commit failed: ${this.lastCommitError.message}` };
    return { ok: true };
  }

  checkpoint(): void {
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }

  close(): void {
    this.flush();
    if (this.db.open) this.db.close();
  }
}

export function openStore(options: StoreOptions, list?: Migration[]): Store {
  const store = new Store(options);
  if (!options.readonly) store.migrate(list);
  return store;
}
