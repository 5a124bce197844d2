import { HttpError } from "../../http/errors";
import type { AppContext } from "../../context";
import type { DeliveryListQuery } from "./model";
import { SAMPLE_MS, type QueueHistory } from "./history";
import { iso } from "../../http/iso";

/** The console's own read-only views (what no other route answers). */
export class ConsoleService {
  constructor(
    private ctx: AppContext,
    private history: QueueHistory,
  ) {}

  /** Deliveries of any status in a window (the webhooks feature answers, through the composition root). */
  deliveries(q: DeliveryListQuery) {
    const webhooks = this.ctx.capabilities.webhooks;
    if (!webhooks) throw new HttpError(404, "not_found", "the webhooks feature is not running");
    return webhooks.deliveriesInWindow(q);
  }

  /** Queue depth and finished attempts over the last minutes (5 s samples since this process started). */
  async queue(minutes: number) {
    const samples = await this.history.since(minutes);
    return {
      minutes,
      sample_seconds: SAMPLE_MS / 1000,
      samples: samples.map((s) => ({ ...s, at: iso(s.at) })),
    };
  }
}
