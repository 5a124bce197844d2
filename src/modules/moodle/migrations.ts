import type { Migration } from "../../store/migrations";
import moodle010 from "./migrations/010_moodle.sql" with { type: "text" };
import { recommenderMigrations } from "../recommender/migrations";

// This feature's tables (see src/store/migrations/index.ts for the numbering, 10-19 here);
// the recommender's share the range and are listed here because the index imports this list only.
export const moodleMigrations: Migration[] = [{ version: 10, name: "010_moodle", sql: moodle010 }, ...recommenderMigrations];
