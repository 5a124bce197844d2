import type { AppContext } from "../../context";
import type { PublishInput } from "../../events/bus";
import type { PostgresDriver } from "../../store/driver/postgres";

interface Waiting {
  input: PublishInput;
  resolve: (created: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * PublishBatcher on PostgreSQL: the `POST /api/v1/events` publishes of one event-loop turn are
 * one write of the group commit (one INSERT for their events, one for their deliveries); each
 * promise settles after COMMIT, so a 202 means durable. The batch is taken once, when the write
 * first runs (a re-run after a sibling write failed reuses it). If it fails, each publish is
 * retried alone so one bad event never sinks the others.
 */
export class PgPublishBatcher {
  private pending: Waiting[] = [];
  private queued = false;

  constructor(
    private ctx: AppContext,
    private driver: PostgresDriver,
  ) {}

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
    const take = () => {
      if (batch === null) {
        this.queued = false;
        batch = this.pending;
        this.pending = [];
      }
      return batch;
    };
    this.driver
      .write((tx, w) =>
        this.ctx.bus.publishManyPg(
          tx,
          w,
          take().map((p) => p.input),
        ),
      )
      .then(
        (events) => take().forEach((w, i) => w.resolve(events[i] !== null)),
        (err) => {
          const failed = take();
          if (failed.length === 1) return failed[0]!.reject(err);
          for (const w of failed) this.driver.write((tx, c) => this.ctx.bus.publishPg(tx, c, w.input)).then((e) => w.resolve(e !== null), w.reject);
        },
      );
  }
}
