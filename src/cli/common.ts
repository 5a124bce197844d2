import { ConfigError } from "../config/load";
import { StartError } from "../daemon";
import { NodeIdInUseError } from "../cluster/membership";
import { StoreOpenError } from "../store/db";
import { InstanceLockedError } from "../store/lock";
import { EXIT } from "./exit-codes";

export class UsageError extends Error {}
/** The input file is broken (exit 65, EX_DATAERR). */
export class DataError extends Error {}

/** One clear line on stderr and the matching exit code; no stack traces for expected failures. */
export function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(`ferry: ${err.message.split("; ")[0]}`);
    for (const p of err.problems.slice(1)) console.error(`  also: ${p}`);
    process.exit(EXIT.config);
  }
  if (err instanceof UsageError) {
    console.error(`ferry: ${err.message} (see ferry --help)`);
    process.exit(EXIT.usage);
  }
  if (err instanceof DataError) {
    console.error(`ferry: ${err.message}`);
    process.exit(EXIT.dataError);
  }
  if (err instanceof InstanceLockedError) {
    console.error(`ferry: ${err.message}`);
    process.exit(EXIT.locked);
  }
  if (err instanceof NodeIdInUseError) {
    console.error(`ferry: ${err.message}`);
    process.exit(EXIT.locked);
  }
  if (err instanceof StoreOpenError) {
    console.error(`ferry: ${err.message}`);
    process.exit(EXIT.cantCreate);
  }
  if (err instanceof StartError) {
    console.error(`ferry: ${err.message}`);
    process.exit(EXIT.unavailable);
  }
  console.error(`ferry: ${(err as Error)?.message ?? String(err)}`);
  process.exit(EXIT.failure);
}
