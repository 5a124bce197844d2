import type { Clock } from "../../src/queue";

/** A clock tests move by hand, so retry schedules are checked without sleeping. */
export class ManualClock implements Clock {
  constructor(private t = Date.now()) {}
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
