import { loadConfig } from "../config/load";
import { openStore } from "../store/db";

/** Applies pending migrations and reports the schema version. */
export function migrate(configPath: string): void {
  const config = loadConfig(configPath);
  const store = openStore({ path: config.storage.path, durability: config.storage.durability, lock: "migrate" }, []);
  const applied = store.migrate();
  console.log(applied.length ? `ferry: applied migrations ${applied.join(", ")}; schema version ${store.schemaVersion}` : `ferry: schema is up to date (version ${store.schemaVersion})`);
  store.close();
}
