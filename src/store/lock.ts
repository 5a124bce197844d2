import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Database, type Db } from "./sqlite";

/**
 * One ferry process per database. The lock is SQLite's own (POSIX) file lock on a small lock
 * database beside the data file, held as an open write transaction for the life of the process:
 * the OS drops it when the process dies, even on SIGKILL, so there is never a stale lock to clean
 * up. Who holds it is written to a JSON file next to it, for the message the loser prints.
 */
export class InstanceLockedError extends Error {}

export interface LockOwner {
  pid: number;
  command: string;
  started_at: string;
}

export interface InstanceLock {
  release(): void;
}

export function lockPaths(dbPath: string): { lock: string; owner: string } {
  const base = join(dirname(dbPath), `.${basename(dbPath)}`);
  return { lock: `${base}.lock`, owner: `${base}.lock.owner` };
}

function readOwner(path: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockOwner;
  } catch {
    return null;
  }
}

/** Takes the lock for `command` (serve, import, migrate) or throws InstanceLockedError naming the holder. */
export function acquireInstanceLock(dbPath: string, command: string): InstanceLock {
  const paths = lockPaths(dbPath);
  const db: Db = new Database(paths.lock, { timeout: 0 });
  try {
    db.pragma("journal_mode = MEMORY"); // no -journal file beside it; nothing is ever written
    db.exec("BEGIN IMMEDIATE");
  } catch (err) {
    db.close();
    if (!String((err as { code?: string }).code).startsWith("SQLITE_BUSY")) throw err;
    const owner = readOwner(paths.owner);
    const who = owner ? `ferry ${owner.command} (pid ${owner.pid}, since ${owner.started_at})` : "another ferry process";
    throw new InstanceLockedError(`database ${dbPath} is in use by ${who}; only one ferry process may use a database at a time (lock: ${paths.lock})`);
  }
  const owner: LockOwner = { pid: process.pid, command, started_at: new Date().toISOString() };
  writeFileSync(`${paths.owner}.tmp`, JSON.stringify(owner) + "\n");
  renameSync(`${paths.owner}.tmp`, paths.owner);
  return {
    release: () => {
      if (db.open) db.close(); // closing ends the transaction and drops the file lock
    },
  };
}
