import type { Migration } from "../../store/migrations";
import bridge030 from "./migrations/030_bridge.sql" with { type: "text" };
import bridgePg030 from "./migrations/pg/030_bridge.sql" with { type: "text" };

// This feature's tables (see src/store/migrations/index.ts for the numbering: 30-39).
export const bridgeMigrations: Migration[] = [{ version: 30, name: "030_bridge", sql: bridge030 }];

/** The same tables on PostgreSQL (migrations/pg/), numbered like the SQLite migration whose schema each matches. */
export const bridgePgMigrations: Migration[] = [{ version: 30, name: "030_bridge", sql: bridgePg030 }];
