import type { FeatureFactory } from "../context";
import { createMoodleModule } from "./moodle/module";
import { createRecommenderModule } from "./recommender/module";
import { createWebhooksModule } from "./webhooks/module";
import { createJobsModule } from "./jobs/module";
import { createBridgeModule } from "./bridge/module";
import { createConsoleModule } from "./console/module";

/** Feature modules in start order (webhooks before the features that publish events). */
export const featureModules: FeatureFactory[] = [
  createWebhooksModule,
  createRecommenderModule,
  createMoodleModule,
  createJobsModule,
  createBridgeModule,
  createConsoleModule,
];
