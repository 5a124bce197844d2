import { closeSync, fdatasync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { Database, type Db } from "./sqlite";
import { allMigrations, type Migration } from "./migrations";
import { storageFailure, StoreUnavailableError } from "./errors";
import { FileIdentity, refuseFreshWhereOneExisted, writeMarker } from "./file-guard";
import { acquireInstanceLock, type InstanceLock } from "./lock";
import { StoreOpenError } from "./open-error";

export type { Db };
export { StoreOpenError, StoreUnavailableError };

export interface StoreOptions {
  path: string;
  durability?: "full" | "normal";
  busyTimeoutMs?: number;
  readonly?: boolean;
  /** Take the single-instance lock for this command (serve, import, migrate); see lock.ts. */
  lock?: string;
}

/** How often the file's identity is checked besides before each acknowledgement. */
const IDENTITY_CHECK_MS = 1000;

interface PendingWrite {
  fn: (db: Db) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface CommittedWrite {
  write: PendingWrite;
  ok: boolean;
  value: unknown;
  callbacks: Array<() => void> | null;
}

/**
 * The SQLite store. Writes go through `write()`: every write queued during one event-loop turn
 * runs in one transaction (each in its own savepoint, so one failing write does not sink the
 * others), and each promise settles only after that transaction is on disk — that is what lets a
 * route answer 2xx.
 *
 * Durability "full" without blocking the event loop: SQLite commits with synchronous=NORMAL (the
 * WAL frames are written, not fsync'd), then ferry fdatasyncs the WAL file on libuv's thread
 * pool and settles the batch when that returns. Batches committed while a sync is in flight share
 * the next one. SQLite itself still syncs the WAL before every checkpoint (NORMAL in WAL mode), so
 * the database file is never ahead of a synced WAL.
 */
export class Store {
  readonly db: Db;
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private commitListeners: Array<() => void> = [];
  /** Callbacks registered by the write running now (see afterCommit). */
  private current: Array<() => void> | null = null;
  private awaitingSync: CommittedWrite[][] = [];
  private syncing = false;
  private walFd: number | null = null;
  private closed = false;
  private instanceLock: InstanceLock | null = null;
  private identity: FileIdentity | null = null;
  private identityTimer: ReturnType<typeof setInterval> | null = null;
  /** Set once the file was removed or replaced under us: every later write is refused. */
  private lost: string | null = null;
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
      // The lock first: a second process must not even look at the file (it could be mid-restore).
      if (options.lock) this.instanceLock = acquireInstanceLock(options.path, options.lock);
      try {
        refuseFreshWhereOneExisted(options.path);
      } catch (err) {
        this.instanceLock?.release();
        throw err;
      }
    }
    try {
      this.db = new Database(options.path, { readonly: options.readonly ?? false, timeout: options.busyTimeoutMs ?? 5000 });
      if (!options.readonly) {
        this.db.pragma("journal_mode = WAL");
        // "full" is NORMAL plus our own fdatasync of the WAL before a write is acknowledged (see above).
        this.db.pragma("synchronous = NORMAL");
        this.db.pragma("foreign_keys = ON");
        // Probe that the file is really writable now rather than at the first request.
        this.db.exec("BEGIN IMMEDIATE; COMMIT;");
        if (options.path !== ":memory:") {
          this.identity = new FileIdentity(options.path);
          this.identityTimer = setInterval(() => this.verifyFile(), IDENTITY_CHECK_MS);
          this.identityTimer.unref?.();
        }
      }
      this.prepareBatchRunner();
    } catch (err) {
      this.instanceLock?.release();
      throw new StoreOpenError(`cannot open database ${options.path}: ${(err as Error).message}`);
    }
  }

  /** After a successful open and migration: remember that a database exists here (file-guard.ts). */
  markCreated(): void {
    if (this.identity) writeMarker(this.options.path);
  }

  /** False (and the store refuses writes from then on) once the file was removed or replaced. */
  verifyFile(): boolean {
    if (this.lost) return false;
    if (!this.identity || this.closed) return true;
    const problem = this.identity.problem(this.walFd);
    if (!problem) return true;
    this.lost = `${problem}; restore it and restart ferry`;
    this.lastCommitError = { at: Date.now(), message: this.lost };
    return false;
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
    if (this.closed) return Promise.reject(new Error("the store is closed"));
    if (this.lost) return Promise.reject(new StoreUnavailableError("missing", this.lost));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs `fn` in its own transaction right now, synchronously (CLI tools, start-up, tests); no fsync of its own. */
  writeNow<T>(fn: (db: Db) => T): T {
    const outer = this.current;
    this.current = [];
    try {
      const result = this.savepoint(fn) as T;
      const callbacks = this.current;
      this.current = outer;
      for (const cb of callbacks) cb();
      return result;
    } catch (err) {
      this.current = outer;
      throw err;
    }
  }

  /**
   * Inside a write: run `callback` once that write is committed and on disk. If the write throws
   * (its savepoint rolls back) the callback is dropped, so nothing acts on data that was never stored.
   */
  afterCommit(callback: () => void): void {
    if (!this.current) throw new Error("store.afterCommit() called outside a write");
    this.current.push(callback);
  }

  /** Called after every durable group commit (the queue wakes its workers here). */
  onCommit(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  // Created once: building a better-sqlite3 transaction function per write costs more than the write.
  private readonly runOne = (fn: (db: Db) => unknown) => fn(this.db);
  private savepoint!: (fn: (db: Db) => unknown) => unknown;
  private runBatch!: (batch: PendingWrite[], done: CommittedWrite[]) => void;

  private prepareBatchRunner(): void {
    // Nested inside runBatch, a better-sqlite3 transaction is a SAVEPOINT: a throwing write rolls
    // back alone. Called on its own (writeNow) it is a plain BEGIN … COMMIT.
    this.savepoint = this.db.transaction(this.runOne);
    this.runBatch = this.db.transaction((batch: PendingWrite[], done: CommittedWrite[]) => {
      for (let i = 0; i < batch.length; i++) {
        const write = batch[i]!;
        this.current = [];
        try {
          done[i] = { write, ok: true, value: this.savepoint(write.fn), callbacks: this.current };
        } catch (error) {
          done[i] = { write, ok: false, value: error, callbacks: null };
        }
      }
      this.current = null;
    });
  }

  /** Commits whatever is queued now; the writes settle once the commit is on disk. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const done: CommittedWrite[] = new Array(batch.length);
    try {
      this.runBatch(batch, done);
    } catch (error) {
      this.current = null;
      this.lastCommitError = { at: Date.now(), message: (error as Error).message };
      const reported = storageFailure(error) ?? error;
      for (const p of batch) p.reject(reported);
      return;
    }
    this.commits++;
    if (this.options.durability === "normal" || this.options.path === ":memory:") return this.settle([done]);
    this.awaitingSync.push(done);
    this.sync();
  }

  /** One fdatasync of the WAL at a time; every batch committed before it started is covered by it. */
  private sync(): void {
    if (this.syncing || this.awaitingSync.length === 0) return;
    const groups = this.awaitingSync;
    this.awaitingSync = [];
    let fd: number;
    try {
      fd = this.walFd ??= openSync(`${this.options.path}-wal`, "r");
    } catch (error) {
      // SQLite has the WAL open, so a missing one was deleted under us.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        this.lost ??= `${this.options.path}-wal no longer exists; restore the database and restart ferry`;
        return this.fail(groups, new StoreUnavailableError("missing", this.lost));
      }
      return this.fail(groups, error);
    }
    this.syncing = true;
    fdatasync(fd, (error) => {
      this.syncing = false;
      if (this.closed && this.walFd !== null) {
        // close() ran while this sync was in flight; SQLite's close checkpointed and synced everything.
        closeSync(this.walFd);
        this.walFd = null;
        return this.settle(groups);
      }
      if (error) this.fail(groups, error);
      else this.settle(groups);
      this.sync();
    });
  }

  private fail(groups: CommittedWrite[][], error: unknown): void {
    if (!(error instanceof StoreUnavailableError)) {
      this.lastCommitError = { at: Date.now(), message: `fsync of the WAL failed: ${(error as Error).message}` };
    }
    const reported = storageFailure(error) ?? error;
    for (const g of groups) for (const w of g) w.write.reject(reported);
  }

  private settle(groups: CommittedWrite[][]): void {
    // What was committed into a removed or replaced file is not on disk where anyone will look.
    if (!this.verifyFile()) return this.fail(groups, new StoreUnavailableError("missing", this.lost!));
    this.lastCommitAt = Date.now();
    this.lastCommitError = null;
    for (const g of groups) {
      for (const w of g) {
        if (w.ok) w.write.resolve(w.value);
        else w.write.reject(w.value);
      }
    }
    for (const g of groups) for (const w of g) if (w.callbacks) for (const cb of w.callbacks) cb();
    for (const l of this.commitListeners) l();
  }

  /** Resolves once every write queued so far is committed and synced. */
  async drain(): Promise<void> {
    this.flush();
    while (this.syncing || this.awaitingSync.length) await new Promise((r) => setTimeout(r, 1));
  }

  /** A cheap liveness probe for /health: the file answers and the last commit did not fail. */
  check(): { ok: boolean; error?: string } {
    if (!this.verifyFile()) return { ok: false, error: `database file lost: ${this.lost}` };
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

  /** Commits what is queued and closes; closing checkpoints and syncs the database (SQLite does that itself). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (this.walFd !== null && !this.syncing) {
      closeSync(this.walFd);
      this.walFd = null;
    }
    if (this.identityTimer) clearInterval(this.identityTimer);
    if (this.db.open) this.db.close();
    this.instanceLock?.release();
    // Closing checkpointed the WAL into the synced database file: what waited for a sync is durable.
    const waiting = this.awaitingSync;
    this.awaitingSync = [];
    if (waiting.length) this.settle(waiting);
  }
}

export function openStore(options: StoreOptions, list?: Migration[]): Store {
  const store = new Store(options);
  if (!options.readonly) {
    store.migrate(list);
    store.markCreated();
  }
  return store;
}
