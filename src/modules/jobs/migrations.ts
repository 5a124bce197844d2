import type { Migration } from "../../store/migrations";
import m025 from "./migrations/025_jobs_replay.sql" with { type: "text" };
import pg025 from "./migrations/pg/025_jobs.sql" with { type: "text" };

// Versions 20-29 are shared by webhooks and the jobs API (see src/store/migrations/index.ts); 25+ is the jobs API's.
export const jobsMigrations: Migration[] = [{ version: 25, name: "025_jobs_replay", sql: m025 }];

/** The same tables on PostgreSQL (migrations/pg/), numbered like the SQLite migration whose schema each matches. */
export const jobsPgMigrations: Migration[] = [{ version: 25, name: "025_jobs", sql: pg025 }];
