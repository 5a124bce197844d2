import { loadConfig } from "../config/load";
import { allMigrations, allPgMigrations } from "../modules";
import { nodeIdOf } from "../config/schema";
import { openStore } from "../store/db";
import { PostgresDriver } from "../store/driver/postgres";

/** Applies pending migrations of the configured driver and reports the schema version. */
export async function migrate(configPath: string): Promise<void> {
  const config = loadConfig(configPath);
  if (config.storage.driver === "postgres") {
    const s = config.storage;
    const driver = new PostgresDriver({ url: s.url!, pool: 2, schema: s.schema, nodeId: `${nodeIdOf(config)} migrate`, migrations: allPgMigrations });
    try {
      const applied = await driver.migrate();
      const version = await driver.schemaVersion();
      console.log(applied.length ? `ferry: applied migrations ${applied.join(", ")} to PostgreSQL schema ${s.schema}; schema version ${version}` : `ferry: PostgreSQL schema ${s.schema} is up to date (version ${version})`);
    } finally {
      await driver.close();
    }
    return;
  }
  const store = openStore({ path: config.storage.path, durability: config.storage.durability, lock: "migrate" }, []);
  const applied = store.migrate(allMigrations);
  console.log(applied.length ? `ferry: applied migrations ${applied.join(", ")}; schema version ${store.schemaVersion}` : `ferry: schema is up to date (version ${store.schemaVersion})`);
  store.close();
}
