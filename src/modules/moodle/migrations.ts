import type { Migration } from "../../store/migrations";
import moodle010 from "./migrations/010_moodle.sql" with { type: "text" };

// This feature's tables (see src/store/migrations/index.ts for the numbering, 10-19 here; the
// recommender's share the range).
export const moodleMigrations: Migration[] = [{ version: 10, name: "010_moodle", sql: moodle010 }];
