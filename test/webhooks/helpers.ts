import type { Clock } from "../../src/queue";
import { afterEach } from "bun:test";
import { FakeSubscriber } from "../fakes/subscriber";
import { ManualClock } from "../helpers/clock";
import type { WebhooksModule } from "../../src/modules/webhooks/module";
import { startFerry, waitFor, type TestFerry } from "../helpers/ferry";

export { ManualClock };

export const TOKEN = "test-api-token";

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

/** Moves the clock past a retry delay and lets the delivery engine (and the queue) claim what became due. */
export function advance(f: TestFerry, clock: ManualClock, ms: number): void {
  clock.advance(ms);
  (f.daemon.modules.find((m) => m.name === "webhooks") as WebhooksModule).engine.wakeAll();
  f.daemon.ctx.queue.wakeAll();
}

/**
 * Fake subscribers and ferries started through these are stopped after each test (newest first).
 * Call at the top level of a test file.
 */
export function perTestResources(config: Record<string, unknown> = {}) {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    async fake(opts: Parameters<typeof FakeSubscriber.start>[0] = {}) {
      const f = await FakeSubscriber.start(opts);
      cleanups.push(() => f.stop());
      return f;
    },
    async ferry(subs: unknown[], opts: Parameters<typeof ferryWith>[1] = {}): Promise<TestFerry> {
      const f = await ferryWith(subs, { ...opts, config: { ...config, ...(opts.config ?? {}) } });
      cleanups.push(() => f.stop());
      return f;
    },
    onCleanup(fn: () => Promise<unknown>) {
      cleanups.push(fn);
    },
  };
}
