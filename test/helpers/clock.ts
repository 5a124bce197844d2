import type { Clock } from "../../src/queue";

/** A clock tests move by hand, so retry schedules are checked without sleeping. */
export class ManualClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 1, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
