import { describe, expect, test } from "bun:test";
import { startFerry, waitFor } from "../helpers/ferry";
import { delivery, deliveryIds, perTestResources, publish, sub, TOKEN, waitStatus } from "./helpers";

const { fake, ferry, onCleanup } = perTestResources();

describe("the deliveries table as the lease queue", () => {
  test("a retry scheduled before a restart is sent after it, with the same webhook-id and body", async () => {
    const rx = await fake();
    rx.reply({ status: 503 });
    const subs = [sub("s", rx.url, { secret: "restart-secret", retry: { max_attempts: 3, base_ms: 400, max_ms: 400, jitter: 0 } })];
    const f = await ferry(subs);
    await publish(f, { id: "evt_restart", name: "attempt.started", data: {} });
    const [id] = deliveryIds(f, "evt_restart");
    await waitStatus(f, id!, "retrying");
    await f.stop();
    const g = await startFerry({ auth: { api_tokens: [TOKEN] }, webhooks: { allow_private_targets: true, subscribers: subs } }, { dir: f.dir });
    onCleanup(() => g.stop());
    const d = await waitStatus(g, id!, "delivered");
    expect(d.attempts.map((a: any) => a.status_code)).toEqual([503, 200]);
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests[1]!.headers["webhook-id"]).toBe(rx.requests[0]!.headers["webhook-id"]);
    expect(rx.requests[1]!.body).toBe(rx.requests[0]!.body);
    expect(rx.requests[1]!.headers["x-delivery-attempt"]).toBe("2");
  });

  test("past the in-memory hand-off (4,096 per subscriber) deliveries wait unleased in the table and are claimed from there; each is sent once", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const rx = await fake({
      reply: async () => {
        await gate;
        return new Response("ok");
      },
    });
    const f = await ferry([sub("s", rx.url, { concurrency: 8, timeout_ms: 60_000 })]);
    const n = 4300;
    for (let i = 0; i < n; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => publish(f, { id: `ovf_${i + k}`, name: "attempt.started", data: { i: i + k } })));
    }
    const db = f.daemon.store.db;
    const unleased = db.prepare("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND lease_token IS NULL").pluck().get() as number;
    // 8 in flight + 4,096 handed over in memory; the rest are in the table for a claim.
    expect(unleased).toBeGreaterThanOrEqual(n - 4096 - 8);
    expect(unleased).toBeLessThan(n - 4000);
    open();
    await waitFor(() => db.prepare("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'").pluck().get() === n, 60_000, `${n} delivered`);
    const ids = rx.requests.map((r) => r.headers["x-event-id"]);
    expect(new Set(ids).size).toBe(n);
    expect(ids).toHaveLength(n);
    const sample = await delivery(f, deliveryIds(f, `ovf_${n - 1}`)[0]!);
    expect(sample).toMatchObject({ status: "delivered", attempt_count: 1 });
  }, 90_000);
});
