import type { Migration } from "../../store/migrations";
import m020 from "./migrations/020_webhooks.sql" with { type: "text" };
import m021 from "./migrations/021_jobs.sql" with { type: "text" };
import m026 from "./migrations/026_delivery_lease.sql" with { type: "text" };
import m027 from "./migrations/027_event_body_once.sql" with { type: "text" };
import pg027 from "./migrations/pg/027_webhooks.sql" with { type: "text" };

// Versions 20-29 are shared by webhooks and the jobs API (see src/store/migrations/index.ts).
export const webhooksMigrations: Migration[] = [
  { version: 20, name: "020_webhooks", sql: m020 },
  { version: 21, name: "021_jobs", sql: m021 },
  { version: 26, name: "026_delivery_lease", sql: m026 },
  { version: 27, name: "027_event_body_once", sql: m027 },
];

/** The same tables on PostgreSQL (migrations/pg/), numbered like the SQLite migration whose schema each matches. */
export const webhooksPgMigrations: Migration[] = [{ version: 27, name: "027_webhooks", sql: pg027 }];
