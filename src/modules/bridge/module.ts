import type { AppContext, FeatureModule } from "../../context";

/** Wires the bridge feature into the daemon: routes, job kinds, maintenance services, health. */
export function createBridgeModule(_ctx: AppContext): FeatureModule {
  return { name: "bridge" };
}
