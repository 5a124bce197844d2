import type { Logger } from "pino";
import type { AppContext } from "../../context";
import { ChatwootClient, ZendeskClient } from "./clients";
import type { BridgeConfig } from "./config";
import { BridgeDayLog } from "./daylog";
import type { BridgeState } from "./state";

export type Outcome = { forwarded: true; detail: string } | { skipped: string };

/** What both sync directions share: config, API clients, day file, the bridge's own Zendesk user, the dedupe window. */
export class BridgeRuntime {
  readonly log: Logger;
  readonly zendesk: ZendeskClient;
  readonly chatwoot: ChatwootClient;
  readonly day: BridgeDayLog;
  private meId: Promise<string> | null = null;

  /** `state`: the bridge's tables on the database this process runs on (state.ts, state-pg.ts). */
  constructor(
    readonly ctx: AppContext,
    readonly state: BridgeState,
  ) {
    this.log = ctx.log.child({ component: "bridge" });
    this.zendesk = new ZendeskClient(() => this.cfg());
    this.chatwoot = new ChatwootClient(() => this.cfg());
    this.day = new BridgeDayLog(ctx, () => this.cfg());
    ctx.onReload(() => {
      this.meId = null; // the credentials (and so the bridge's user) may have changed
    });
  }

  cfg(): BridgeConfig {
    return this.ctx.config().bridge;
  }

  /** Start of the dedupe window (unix ms). */
  since(): number {
    return this.ctx.clock.now() - this.cfg().dedupe_window;
  }

  /** The id of the Zendesk user the bridge writes as (GET /api/v2/users/me.json), cached until a reload. */
  async me(signal: AbortSignal): Promise<string> {
    this.meId ??= this.zendesk.me(signal).then((u) => String(u.id));
    try {
      return await this.meId;
    } catch (err) {
      this.meId = null;
      throw err;
    }
  }

  /** A message not forwarded: a debug log line, and (unless quiet) a day-file line saying why. */
  skip(label: string, what: string, reason: string, quiet = false): Outcome {
    this.log.debug({ reason, what }, `${label}: skipped`);
    if (!quiet) this.day.write("INFO", `⏭ ${label}: ${what} not forwarded: ${reason}`);
    return { skipped: reason };
  }
}
