import type { Migration } from "../../store/migrations";
import rec011 from "./migrations/011_recommender.sql" with { type: "text" };

// Collected with every feature's in src/modules/index.ts.
export const recommenderMigrations: Migration[] = [{ version: 11, name: "011_recommender", sql: rec011 }];
