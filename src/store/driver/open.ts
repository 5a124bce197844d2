import { openStore, type StoreOptions } from "../db";
import { PostgresDriver, type PostgresDriverOptions } from "./postgres";
import { SqliteDriver } from "./sqlite";

export type DriverOptions = ({ driver: "sqlite" } & StoreOptions) | ({ driver: "postgres" } & PostgresDriverOptions);

/** Opens the configured driver and applies its migrations (the SQLite Store opens migrated already). */
export async function openDriver(options: { driver: "sqlite" } & StoreOptions): Promise<SqliteDriver>;
export async function openDriver(options: { driver: "postgres" } & PostgresDriverOptions): Promise<PostgresDriver>;
export async function openDriver(options: DriverOptions): Promise<SqliteDriver | PostgresDriver>;
export async function openDriver(options: DriverOptions): Promise<SqliteDriver | PostgresDriver> {
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
