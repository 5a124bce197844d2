import { openStore, type StoreOptions } from "../db";
import { PostgresDriver, type PostgresDriverOptions } from "./postgres";
import { SqliteDriver } from "./sqlite";
import type { StoreDriver } from "./types";

export type DriverOptions = ({ driver: "sqlite" } & StoreOptions) | ({ driver: "postgres" } & PostgresDriverOptions);

/** Opens the configured driver and applies its migrations (the SQLite Store opens migrated already). */
export async function openDriver(options: DriverOptions): Promise<StoreDriver> {
  if (options.driver === "sqlite") return new SqliteDriver(openStore(options));
  const driver = new PostgresDriver(options);
  try {
    await driver.migrate();
  } catch (err) {
    await driver.close().catch(() => {});
    throw err;
  }
  return driver;
}
