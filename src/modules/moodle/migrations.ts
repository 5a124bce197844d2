import type { Migration } from "../../store/migrations";
import moodle010 from "./migrations/010_moodle.sql" with { type: "text" };
import moodlePg010 from "./migrations/pg/010_moodle.sql" with { type: "text" };

// This feature's tables (see src/store/migrations/index.ts for the numbering, 10-19 here, shared
// with the recommender, which lists its own).
export const moodleMigrations: Migration[] = [{ version: 10, name: "010_moodle", sql: moodle010 }];

/** The same tables on PostgreSQL (migrations/pg/), numbered like the SQLite migration whose schema each matches. */
export const moodlePgMigrations: Migration[] = [{ version: 10, name: "010_moodle", sql: moodlePg010 }];
