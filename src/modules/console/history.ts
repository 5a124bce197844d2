import type { AppContext } from "../../context";
import { queueDepth } from "../../queue";

export interface QueueSample {
  /** unix ms */
  at: number;
  /** Jobs waiting (queued + retry), running and dead, summed over kinds, plus webhook deliveries. */
  waiting: number;
  running: number;
  dead: number;
  /** Attempts finished by this process since it started (counters; the console plots differences). */
  done_total: number;
  failed_total: number;
}

export const SAMPLE_MS = 5_000;
const KEEP_MS = 3_600_000;

/**
 * The queue's last hour, sampled every 5 s into memory (depth needs a time series the database
 * does not keep, and reading counters is cheaper than counting finished rows). Owned by the
 * console module; it starts empty after a restart.
 */
export class QueueHistory {
  private samples: QueueSample[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private ctx: AppContext) {}

  start(): void {
    this.record();
    this.timer = setInterval(() => this.record(), SAMPLE_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A sample of now (not stored). */
  sample(): QueueSample {
    let waiting = 0;
    let running = 0;
    let dead = 0;
    for (const byStatus of Object.values(queueDepth(this.ctx.store.db))) {
      waiting += (byStatus.queued ?? 0) + (byStatus.retry ?? 0);
      running += byStatus.running ?? 0;
      dead += byStatus.dead ?? 0;
    }
    let done = 0;
    let failed = 0;
    for (const o of Object.values(this.ctx.queue.outcomes())) {
      done += o.done;
      failed += o.retry + o.dead;
    }
    // Deliveries are the webhooks feature's own lease queue: part of the backlog an operator watches.
    const d = this.ctx.capabilities.webhooks?.backlog();
    if (d) {
      waiting += d.waiting;
      running += d.running;
      dead += d.dead;
      done += d.delivered_total;
      failed += d.failed_total;
    }
    return { at: Date.now(), waiting, running, dead, done_total: done, failed_total: failed };
  }

  private record(): void {
    try {
      this.samples.push(this.sample());
    } catch (err) {
      // A database problem shows in /health; the history just misses a point.
      this.ctx.log.debug({ err }, "queue sample skipped");
    }
    const oldest = Date.now() - KEEP_MS;
    while (this.samples.length && this.samples[0]!.at < oldest) this.samples.shift();
  }

  /** Samples of the last `minutes`, oldest first, ending with a sample of now. */
  since(minutes: number): QueueSample[] {
    const from = Date.now() - minutes * 60_000;
    return [...this.samples.filter((s) => s.at >= from), this.sample()];
  }
}
