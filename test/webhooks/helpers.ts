import type { Clock } from "../../src/queue";
import { startFerry, waitFor, type TestFerry } from "../helpers/ferry";

export const TOKEN = "test-api-token";

/** A clock tests move by hand: retry delays pass without sleeping. */
export class ManualClock implements Clock {
  t = Date.now();
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export function sub(id: string, url: string, extra: Record<string, unknown> = {}) {
  return { id, name: `Sub ${id}`, url, events: ["*"], timeout_ms: 2000, retry: { max_attempts: 4, backoff: "exponential", base_ms: 1000, max_ms: 60_000 }, ...extra };
}

export async function ferryWith(subscribers: unknown[], opts: { clock?: Clock; webhooks?: Record<string, unknown>; config?: Record<string, unknown> } = {}): Promise<TestFerry> {
  return startFerry(
    {
      auth: { api_tokens: [TOKEN] },
      webhooks: { allow_private_targets: true, subscribers, ...(opts.webhooks ?? {}) },
      ...(opts.config ?? {}),
    },
    { clock: opts.clock },
  );
}

export async function publish(f: TestFerry, event: Record<string, unknown>): Promise<Response> {
  return f.request("POST", "/api/v1/events", { token: TOKEN, body: event });
}

export async function delivery(f: TestFerry, id: string): Promise<any> {
  const r = await f.request("GET", `/api/v1/deliveries/${id}`, { token: TOKEN });
  return r.json();
}

/** Delivery ids of an event, oldest first. */
export function deliveryIds(f: TestFerry, eventId: string): string[] {
  return f.daemon.store.db.prepare("SELECT id FROM webhook_deliveries WHERE event_id = ? ORDER BY created_at, id").pluck().all(eventId) as string[];
}

export async function waitStatus(f: TestFerry, id: string, status: string | string[], timeoutMs = 10_000): Promise<any> {
  const want = Array.isArray(status) ? status : [status];
  let last: any;
  await waitFor(
    async () => {
      last = await delivery(f, id);
      return want.includes(last.status) ? last : null;
    },
    timeoutMs,
    `delivery ${id} to become ${want.join("|")}`,
  );
  return last;
}

/** Moves the clock past a retry delay and lets the queue claim what became due. */
export function advance(f: TestFerry, clock: ManualClock, ms: number): void {
  clock.advance(ms);
  f.daemon.ctx.queue.wakeAll();
}
