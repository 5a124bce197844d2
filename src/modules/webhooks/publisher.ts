import type { AppContext } from "../../context";
import type { PublishInput } from "../../events/bus";

interface Waiting {
  input: PublishInput;
  resolve: (created: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * `POST /api/v1/events` publishes of one event-loop turn go into one write of the group commit:
 * one savepoint and one multi-row INSERT for all their events (and one for their deliveries)
 * instead of one of each per request. Each promise settles once that write is on disk. If the
 * batch fails, each publish is retried in a write of its own, so one bad event never sinks the
 * others (the store's per-write isolation, kept).
 */
export class PublishBatcher {
  private pending: Waiting[] = [];
  private queued = false;

  constructor(private ctx: AppContext) {}

  /** Resolves with false when the id was published before (the same answer, no second fan-out). */
  publish(input: PublishInput): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.queued) this.schedule();
    });
  }

  private schedule(): void {
    this.queued = true;
    let batch: Waiting[] | null = null;
    // The closure runs when the group commit runs, and takes every publish that arrived until then.
    this.ctx.store
      .write((db) => {
        this.queued = false;
        batch = this.pending;
        this.pending = [];
        return this.ctx.bus.publishMany(db, batch.map((w) => w.input));
      })
      .then(
        (events) => batch!.forEach((w, i) => w.resolve(events[i] !== null)),
        (err) => {
          if (batch === null) {
            // Refused before it ran (store closed or lost): everyone waiting gets that answer.
            this.queued = false;
            batch = this.pending;
            this.pending = [];
            for (const w of batch) w.reject(err);
          } else if (batch.length === 1) batch[0]!.reject(err);
          else for (const w of batch) this.ctx.store.write((db) => this.ctx.bus.publish(db, w.input)).then((e) => w.resolve(e !== null), w.reject);
        },
      );
  }
}
