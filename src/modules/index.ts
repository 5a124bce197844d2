// The composition root of the features: which exist, in which order they start, what each gets
// from the others, and the migrations each declares. The store knows only its core tables; whoever opens the database for
// the features (the daemon, the CLI commands) passes `allMigrations` from here.
import type { AppContext, FeatureModule } from "../context";
import { coreMigrations, type Migration } from "../store/migrations";
import { pgCoreMigrations } from "../store/postgres/migrations";
import { createMoodleModule } from "./moodle/module";
import { moodleMigrations, moodlePgMigrations } from "./moodle/migrations";
import { createRecommenderModule } from "./recommender/module";
import { recommenderMigrations, recommenderPgMigrations } from "./recommender/migrations";
import { createWebhooksModule } from "./webhooks/module";
import { webhooksMigrations, webhooksPgMigrations } from "./webhooks/migrations";
import { createJobsModule } from "./jobs/module";
import { jobsMigrations, jobsPgMigrations } from "./jobs/migrations";
import { createBridgeModule } from "./bridge/module";
import { bridgeMigrations, bridgePgMigrations } from "./bridge/migrations";
import { createConsoleModule } from "./console/module";

/** Each feature's own tables (numbering: src/store/migrations/index.ts). */
export const featureMigrations: Record<string, Migration[]> = {
  webhooks: webhooksMigrations,
  recommender: recommenderMigrations,
  moodle: moodleMigrations,
  jobs: jobsMigrations,
  bridge: bridgeMigrations,
};

/** Core and every feature's migrations: the full schema of a ferry database. */
export const allMigrations: Migration[] = [...coreMigrations, ...Object.values(featureMigrations).flat()];

/**
 * The same tables on PostgreSQL (same names and columns, so `ferry move-to-postgres` copies them
 * as they are). A feature's PostgreSQL migration carries the version of the SQLite migration
 * whose schema it matches.
 */
export const featurePgMigrations: Record<string, Migration[]> = {
  webhooks: webhooksPgMigrations,
  recommender: recommenderPgMigrations,
  moodle: moodlePgMigrations,
  jobs: jobsPgMigrations,
  bridge: bridgePgMigrations,
};

export const allPgMigrations: Migration[] = [...pgCoreMigrations, ...Object.values(featurePgMigrations).flat()];

/**
 * Creates the features in start order (webhooks before the features that publish events), each
 * handed the services of the others it uses, so no feature looks another up.
 */
export function createFeatures(ctx: AppContext): FeatureModule[] {
  const webhooks = createWebhooksModule(ctx);
  const recommender = createRecommenderModule(ctx);
  const moodle = createMoodleModule(ctx);
  const jobs = createJobsModule(ctx, { webhooks: webhooks.engine });
  const bridge = createBridgeModule(ctx);
  const console = createConsoleModule(ctx);
  return [webhooks, recommender, moodle, jobs, bridge, console];
}
