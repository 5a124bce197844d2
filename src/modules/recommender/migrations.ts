import type { Migration } from "../../store/migrations";
import rec011 from "./migrations/011_recommender.sql" with { type: "text" };
import rec018 from "./migrations/018_recommender_moves.sql" with { type: "text" };
import recPg018 from "./migrations/pg/018_recommender.sql" with { type: "text" };
import recPg019 from "./migrations/pg/019_recommender_rebuilds.sql" with { type: "text" };

// Collected with every feature's in src/modules/index.ts (numbers in the moodle range, 10-19).
// 018, not 012: the moodle feature's own next migrations take the numbers after 010.
export const recommenderMigrations: Migration[] = [
  { version: 11, name: "011_recommender", sql: rec011 },
  { version: 18, name: "018_recommender_moves", sql: rec018 },
];

/** The same tables on PostgreSQL (migrations/pg/), numbered like the SQLite migration whose schema each matches. */
export const recommenderPgMigrations: Migration[] = [
  { version: 18, name: "018_recommender", sql: recPg018 },
  // PostgreSQL only: rebuilds asked of a course's shard owner (019 is free in the moodle range on both drivers).
  { version: 19, name: "019_recommender_rebuilds", sql: recPg019 },
];
