import type { AppContext, FeatureModule } from "../../context";

/** Wires the webhooks feature into the daemon: routes, job kinds, maintenance services, health. */
export function createWebhooksModule(_ctx: AppContext): FeatureModule {
  return { name: "webhooks" };
}
