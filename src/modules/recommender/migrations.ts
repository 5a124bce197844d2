import type { Migration } from "../../store/migrations";
import rec011 from "./migrations/011_recommender.sql" with { type: "text" };

// Listed through moodleMigrations (src/store/migrations/index.ts imports that list only).
export const recommenderMigrations: Migration[] = [{ version: 11, name: "011_recommender", sql: rec011 }];
