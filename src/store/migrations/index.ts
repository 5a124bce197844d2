// Migrations are embedded as text (so the compiled binary carries them) and applied in version
// order; the store records each applied version. Numbering: 1-9 core (here), 10-19 moodle and
// recommender, 20-29 webhooks and jobs, 30-39 bridge — each feature lists its own in
// src/modules/<feature>/migrations.ts. Never edit an applied migration; add a new one.
import core001 from "./001_core.sql" with { type: "text" };
import core002 from "./002_dead_jobs_index.sql" with { type: "text" };
import { moodleMigrations } from "../../modules/moodle/migrations";
import { recommenderMigrations } from "../../modules/recommender/migrations";
import { webhooksMigrations } from "../../modules/webhooks/migrations";
import { jobsMigrations } from "../../modules/jobs/migrations";
import { bridgeMigrations } from "../../modules/bridge/migrations";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const coreMigrations: Migration[] = [
  { version: 1, name: "001_core", sql: core001 },
  { version: 2, name: "002_dead_jobs_index", sql: core002 },
];

export const allMigrations: Migration[] = [...coreMigrations, ...moodleMigrations, ...recommenderMigrations, ...webhooksMigrations, ...jobsMigrations, ...bridgeMigrations];
