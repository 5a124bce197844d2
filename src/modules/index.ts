// The composition root of the features: which exist, in which order they start, and the
// migrations each declares. The store knows only its core tables; whoever opens the database for
// the features (the daemon, the CLI commands) passes `allMigrations` from here.
import type { FeatureFactory } from "../context";
import { coreMigrations, type Migration } from "../store/migrations";
import { createMoodleModule } from "./moodle/module";
import { moodleMigrations } from "./moodle/migrations";
import { createRecommenderModule } from "./recommender/module";
import { recommenderMigrations } from "./recommender/migrations";
import { createWebhooksModule } from "./webhooks/module";
import { webhooksMigrations } from "./webhooks/migrations";
import { createJobsModule } from "./jobs/module";
import { jobsMigrations } from "./jobs/migrations";
import { createBridgeModule } from "./bridge/module";
import { bridgeMigrations } from "./bridge/migrations";
import { createConsoleModule } from "./console/module";

export interface Feature {
  name: string;
  create: FeatureFactory;
  /** The feature's own tables (numbering: src/store/migrations/index.ts). */
  migrations: Migration[];
}

/** Features in start order (webhooks before the features that publish events). */
export const features: Feature[] = [
  { name: "webhooks", create: createWebhooksModule, migrations: webhooksMigrations },
  { name: "recommender", create: createRecommenderModule, migrations: recommenderMigrations },
  { name: "moodle", create: createMoodleModule, migrations: moodleMigrations },
  { name: "jobs", create: createJobsModule, migrations: jobsMigrations },
  { name: "bridge", create: createBridgeModule, migrations: bridgeMigrations },
  { name: "console", create: createConsoleModule, migrations: [] },
];

export const featureModules: FeatureFactory[] = features.map((f) => f.create);

/** Core and every feature's migrations: the full schema of a ferry database. */
export const allMigrations: Migration[] = [...coreMigrations, ...features.flatMap((f) => f.migrations)];
