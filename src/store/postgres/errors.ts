import { StoreUnavailableError } from "../errors";

// porsager's connection error codes and the SQLSTATE classes that mean "the server, not the
// request": answered 503 + Retry-After like a locked or full SQLite file, never 500.
const CONNECTION = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"]);

export function pgFailure(error: unknown): StoreUnavailableError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  const msg = (error as Error).message;
  if (CONNECTION.has(code) || code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") return new StoreUnavailableError("unreachable", `${code}: ${msg}`);
  if (code === "53100") return new StoreUnavailableError("full", `${code}: ${msg}`); // disk_full
  if (code.startsWith("53")) return new StoreUnavailableError("busy", `${code}: ${msg}`); // out of memory / connections
  if (code === "40P01" || code === "40001" || code === "55P03") return new StoreUnavailableError("busy", `${code}: ${msg}`); // deadlock, serialization, lock timeout
  if (code === "25006") return new StoreUnavailableError("readonly", `${code}: ${msg}`); // a read-only standby
  if (code.startsWith("58") || code === "XX001" || code === "XX002") return new StoreUnavailableError("io", `${code}: ${msg}`);
  return null;
}
