import { existsSync, fstatSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { StoreOpenError } from "./open-error";

/**
 * Guards against a database file that vanishes or is swapped under ferry. SQLite keeps writing
 * to the open (unlinked) file and every write "succeeds" into nothing, so the store checks the
 * file's device and inode before it acknowledges a commit and on a timer. A marker file next to
 * the database records that one was created here, so a start never silently begins again with
 * an empty database because the old one is gone.
 */
export function markerPath(dbPath: string): string {
  return join(dirname(dbPath), `.${basename(dbPath)}.created`);
}

/** At start, before SQLite would create a fresh file: refuse when the marker says one existed. */
export function refuseFreshWhereOneExisted(dbPath: string): void {
  const marker = markerPath(dbPath);
  if (!existsSync(marker)) return;
  let size = -1;
  try {
    size = statSync(dbPath).size;
  } catch {
    // missing
  }
  if (size > 0) return;
  let created = "";
  try {
    created = ` on ${(JSON.parse(readFileSync(marker, "utf8")) as { created_at?: string }).created_at ?? "?"}`;
  } catch {
    // an unreadable marker still counts
  }
  throw new StoreOpenError(
    `database ${dbPath} is ${size === 0 ? "empty" : "missing"}, but ${marker} shows one was created here${created}. ` +
      `Restore the file (with its -wal file, if any) from a backup; or, to start over with an empty database, delete ${marker}`,
  );
}

/** Records that a database exists here (after it was opened and migrated). */
export function writeMarker(dbPath: string): void {
  const marker = markerPath(dbPath);
  if (existsSync(marker)) return;
  writeFileSync(marker, JSON.stringify({ created_at: new Date().toISOString(), database: basename(dbPath) }) + "\n");
}

interface Identity {
  dev: number;
  ino: number;
}

/** The device/inode of the database file (and of the WAL we fsync), checked against the path. */
export class FileIdentity {
  private readonly db: Identity;

  constructor(private readonly path: string) {
    const s = statSync(path);
    this.db = { dev: s.dev, ino: s.ino };
  }

  /** Null when the path still names the file we opened (and `walFd` the WAL at its path); else what changed. */
  problem(walFd: number | null): string | null {
    const db = identityAt(this.path);
    if (!db) return `${this.path} no longer exists`;
    if (db.dev !== this.db.dev || db.ino !== this.db.ino) return `${this.path} was replaced by another file`;
    if (walFd !== null) {
      const wal = identityAt(`${this.path}-wal`);
      const open = fstatSync(walFd);
      if (!wal) return `${this.path}-wal no longer exists`;
      if (wal.dev !== open.dev || wal.ino !== open.ino) return `${this.path}-wal was replaced by another file`;
    }
    return null;
  }
}

function identityAt(path: string): Identity | null {
  try {
    const s = statSync(path);
    return { dev: s.dev, ino: s.ino };
  } catch {
    return null;
  }
}
