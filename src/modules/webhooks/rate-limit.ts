/**
 * A token bucket per subscriber (`max_rate` deliveries per second). Deliveries wait in the
 * table until a token is there, so waiting costs no attempts. The burst is a tenth of a
 * second's worth (at least one), so a backlog drains at the rate, not in bursts of a second.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;
  readonly burst: number;
  /** Claims held back because the bucket was empty (shown in /metrics). */
  waits = 0;

  constructor(
    readonly rate: number,
    now: number,
  ) {
    this.burst = Math.max(1, rate / 10);
    this.tokens = this.burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = Math.max(this.at, now);
  }

  /** Whole tokens available now. */
  available(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  take(n: number, now: number): void {
    this.refill(now);
    this.tokens -= n;
  }

  /** When the next whole token is there. */
  nextTokenAt(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? now : now + Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }
}
