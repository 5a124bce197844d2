import type { AppContext, FeatureModule } from "../../context";
import { moodleRoutes } from "./index";
import { MoodleService } from "./service";
import { PgMoodleWriter } from "./writer-pg";

/** Wires the moodle feature into the daemon: inbound routes and the jobs API's import capability. */
export function createMoodleModule(ctx: AppContext): FeatureModule {
  const storage = ctx.storage;
  const service = storage.kind === "postgres" ? new MoodleService(ctx, new PgMoodleWriter(ctx, storage)) : new MoodleService(ctx);
  ctx.capabilities.moodleIngest = (logs) => service.ingestLogs(logs);
  return { name: "moodle", routes: moodleRoutes(ctx, service) };
}
