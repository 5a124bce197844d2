import type { AppContext, FeatureModule } from "../../context";

/** Wires the jobs feature into the daemon: routes, job kinds, maintenance services, health. */
export function createJobsModule(_ctx: AppContext): FeatureModule {
  return { name: "jobs" };
}
