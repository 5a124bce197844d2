import type { AppContext } from "../../context";
import { DayFileLog } from "../../log/dayfile";
import type { BridgeConfig } from "./config";

/** The bridge's day files (log_YYYY_MM_DD.txt in bridge.log_dir): reopened on reload, credentials scrubbed. */
export class BridgeDayLog {
  private file: DayFileLog;

  constructor(
    private ctx: AppContext,
    private cfg: () => BridgeConfig,
  ) {
    this.file = this.open();
    ctx.onReload(() => {
      this.file = this.open();
    });
  }

  write(level: "INFO" | "WARN" | "ERROR", text: string): void {
    this.file.write(level, text);
  }

  /** Deletes day files older than the retention; returns their names. */
  cleanup(retentionDays: number): string[] {
    return this.file.cleanup(retentionDays);
  }

  private open(): DayFileLog {
    return new DayFileLog({ dir: this.cfg().log_dir, now: () => this.ctx.clock.now(), secrets: () => this.secrets() });
  }

  private secrets(): string[] {
    const c = this.cfg();
    const basic = Buffer.from(`${c.zendesk.email}/token:${c.zendesk.api_token}`).toString("base64");
    return [c.chatwoot.api_token, c.chatwoot.webhook_secret, c.chatwoot.path_token, c.zendesk.api_token, c.zendesk.signing_secret, basic].filter(Boolean);
  }
}
