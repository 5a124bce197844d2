// The drivers the shared suite runs against: SQLite on a temp file, PostgreSQL on a throwaway
// cluster (skipped, with the reason printed, where Debian's postgresql is not installed).
import { join } from "node:path";
import { openStore } from "../../src/store/db";
import { openDriver } from "../../src/store/driver/open";
import { SqliteDriver } from "../../src/store/driver/sqlite";
import type { StoreDriver } from "../../src/store/driver/types";
import { tempDir } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";

export interface DriverTarget {
  name: "sqlite" | "postgres";
  /** Why this driver cannot run here (null: it can). */
  unavailable: string | null;
  /** A fresh, empty, migrated database; `peer` opens a second driver on the same database (another node). */
  fresh(): Promise<{ driver: StoreDriver; peer(nodeId?: string): Promise<StoreDriver>; where: string }>;
}

let cluster: PgCluster | null = null;
let schemas = 0;

export const pgReason = pgUnavailable();
if (pgReason) console.log(`PostgreSQL driver tests skipped: ${pgReason}`);

export async function startCluster(): Promise<PgCluster | null> {
  if (pgReason) return null;
  cluster ??= await startPgCluster();
  return cluster;
}

export async function stopCluster(): Promise<void> {
  await cluster?.stop();
  cluster = null;
}

const opened: StoreDriver[] = [];
export async function closeAll(): Promise<void> {
  await Promise.allSettled(opened.splice(0).map((d) => d.close()));
}
function track<T extends StoreDriver>(d: T): T {
  opened.push(d);
  return d;
}

export const targets: DriverTarget[] = [
  {
    name: "sqlite",
    unavailable: null,
    async fresh() {
      const path = join(tempDir(), "driver.db");
      const driver = track(new SqliteDriver(openStore({ path })));
      // A second Store on the same file stands in for a second worker process.
      return { driver, where: path, peer: async () => track(new SqliteDriver(openStore({ path }))) };
    },
  },
  {
    name: "postgres",
    unavailable: pgReason,
    async fresh() {
      const c = (await startCluster())!;
      const schema = `t${++schemas}_${process.pid}`;
      const open = (nodeId: string) => openDriver({ driver: "postgres", url: c.url, pool: 4, schema, nodeId }).then(track);
      return { driver: await open("node-a"), where: `${c.url}#${schema}`, peer: (nodeId = "node-b") => open(nodeId) };
    },
  },
];
