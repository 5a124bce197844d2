import type { AppContext, FeatureModule } from "../../context";
import { moodleRoutes } from "./index";
import { MoodleService } from "./service";

/** Wires the moodle feature into the daemon: inbound routes and the jobs API's import capability. */
export function createMoodleModule(ctx: AppContext): FeatureModule {
  const service = new MoodleService(ctx);
  ctx.capabilities.moodleIngest = (logs) => service.ingestLogs(logs);
  return { name: "moodle", routes: moodleRoutes(ctx, service) };
}
