import type { AppContext, FeatureModule } from "../../context";

/** Wires the moodle feature into the daemon: routes, job kinds, maintenance services, health. */
export function createMoodleModule(_ctx: AppContext): FeatureModule {
  return { name: "moodle" };
}
