import type { AppContext } from "../../context";
import { queueDepth } from "../../queue";
import type { QueueDepth } from "../../store/driver/types";

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
  /** Jobs per kind and status: a synchronous index-backed read on SQLite, the driver's (every node's jobs) on PostgreSQL. */
  private depth: () => QueueDepth | Promise<QueueDepth>;

  constructor(private ctx: AppContext) {
    const s = ctx.storage;
    if (s.kind === "sqlite") this.depth = () => queueDepth(s.store.db);
    else this.depth = () => s.driver.depth();
  }

  start(): void {
    this.record();
    this.timer = setInterval(() => this.record(), SAMPLE_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A sample of now (not stored); a promise on PostgreSQL. */
  sample(): QueueSample | Promise<QueueSample> {
    const depth = this.depth();
    return depth instanceof Promise ? depth.then((d) => this.sampleOf(d)) : this.sampleOf(depth);
  }

  private sampleOf(depth: QueueDepth): QueueSample {
    let waiting = 0;
    let running = 0;
    let dead = 0;
    for (const byStatus of Object.values(depth)) {
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
    const skipped = (err: unknown) => {
      // A database problem shows in /health; the history just misses a point.
      this.ctx.log.debug({ err }, "queue sample skipped");
    };
    try {
      const s = this.sample();
      if (s instanceof Promise) void s.then((v) => this.keep(v), skipped);
      else this.keep(s);
    } catch (err) {
      skipped(err);
    }
  }

  private keep(sample: QueueSample): void {
    this.samples.push(sample);
    const oldest = Date.now() - KEEP_MS;
    while (this.samples.length && this.samples[0]!.at < oldest) this.samples.shift();
  }

  /** Samples of the last `minutes`, oldest first, ending with a sample of now. */
  since(minutes: number): QueueSample[] | Promise<QueueSample[]> {
    const from = Date.now() - minutes * 60_000;
    const kept = this.samples.filter((s) => s.at >= from);
    const now = this.sample();
    return now instanceof Promise ? now.then((s) => [...kept, s]) : [...kept, now];
  }
}
