import type { AppContext, FeatureModule } from "../../context";
import { QueueHistory } from "./history";
import { consoleRoutes } from "./index";
import { ConsoleService } from "./service";

/** The operator console at /ui (DESIGN.md "Operator console"). It reads through the public API. */
export function createConsoleModule(ctx: AppContext): FeatureModule {
  const history = new QueueHistory(ctx);
  ctx.onShutdown(() => history.stop());
  return {
    name: "console",
    routes: consoleRoutes(ctx, new ConsoleService(ctx, history)),
    start: () => history.start(),
  };
}
