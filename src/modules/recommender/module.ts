import type { AppContext, FeatureModule } from "../../context";

/** Wires the recommender feature into the daemon: routes, job kinds, maintenance services, health. */
export function createRecommenderModule(_ctx: AppContext): FeatureModule {
  return { name: "recommender" };
}
