// Storage failures that are not the client's fault and may pass (disk full, a lock held by another
// process, I/O errors, a corrupt or vanished file): answered 503 + Retry-After, never 500.

export type StorageReason = "busy" | "full" | "io" | "corrupt" | "missing" | "readonly" | "unreachable";

/** Seconds a client should wait before retrying, per reason (a lock passes quickly; a full disk needs an operator). */
const RETRY_AFTER: Record<StorageReason, number> = { busy: 2, full: 30, io: 30, corrupt: 30, missing: 30, readonly: 30, unreachable: 5 };

const EXPLAIN: Record<StorageReason, string> = {
  busy: "the database is locked by another process",
  full: "the disk holding the database is full",
  io: "an I/O error on the database file",
  corrupt: "the database file is corrupt",
  missing: "the database file was removed or replaced",
  readonly: "the database file is read-only",
  unreachable: "the database server cannot be reached",
};

export class StoreUnavailableError extends Error {
  constructor(
    readonly reason: StorageReason,
    detail: string,
  ) {
    super(`storage unavailable: ${EXPLAIN[reason]} (${detail}); nothing was stored, retry later`);
  }

  get retryAfterSeconds(): number {
    return RETRY_AFTER[this.reason];
  }
}

// SQLite result codes (better-sqlite3's SqliteError.code, extended codes included) and errno
// codes from our own fsync/stat calls.
function reasonOf(code: string): StorageReason | null {
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "busy";
  if (code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT") return "full";
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") return "corrupt";
  if (code.startsWith("SQLITE_READONLY") || code === "EROFS") return "readonly";
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN") || code === "SQLITE_PROTOCOL" || code === "EIO") return "io";
  return null;
}

/** The error as a StoreUnavailableError when it is a storage failure, else null. */
export function storageFailure(error: unknown): StoreUnavailableError | null {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  const reason = reasonOf(code);
  return reason ? new StoreUnavailableError(reason, `${code}: ${(error as Error).message}`) : null;
}
