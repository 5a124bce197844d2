import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { FakeSubscriber } from "../fakes/subscriber";
import { waitFor, type TestFerry } from "../helpers/ferry";
import { advance, delivery, deliveryIds, ferryWith, ManualClock, perTestResources, publish, sub, TOKEN, waitStatus } from "./helpers";

const { fake, ferry, onCleanup } = perTestResources();
const get = async (f: TestFerry, path: string): Promise<any> => (await f.request("GET", path, { token: TOKEN })).json();

describe("monitoring, circuit breaker, config reload, retention", () => {
  test("metrics, health, failures, /health section and Prometheus families", async () => {
    const ok = await fake();
    const bad = await fake({ reply: { status: 400 } });
    const f = await ferry([sub("ok", ok.url), sub("bad", bad.url, { events: ["attempt.submitted"] })]);
    await publish(f, { id: "e1", name: "attempt.started", data: {} });
    await publish(f, { id: "e2", name: "attempt.submitted", data: {} });
    await waitStatus(f, deliveryIds(f, "e2").find((d) => true)!, ["delivered", "failed"]);
    await waitFor(async () => (await get(f, "/api/v1/webhook-metrics?hours=1")).total.delivered === 2 && (await get(f, "/api/v1/webhook-metrics?hours=1")).total.failed === 1);
    const m = await get(f, "/api/v1/webhook-metrics?hours=1");
    expect(m.hours).toBe(1);
    expect(m.total).toMatchObject({ attempted: 3, delivered: 2, failed: 1, retried: 0, pending: 0, dead: 0, success_rate: 0.6667 });
    expect(m.total.latency_ms.p50).toBeGreaterThan(0);
    expect(m.total.latency_ms.p99).toBeGreaterThanOrEqual(m.total.latency_ms.p50);
    expect(m.subscribers.find((s: any) => s.id === "ok")).toMatchObject({ name: "Sub ok", attempted: 2, delivered: 2, success_rate: 1 });
    expect(m.subscribers.find((s: any) => s.id === "bad")).toMatchObject({ attempted: 1, failed: 1, success_rate: 0 });
    expect((await f.request("GET", "/api/v1/webhook-metrics?hours=abc", { token: TOKEN })).status).toBe(422);
    expect((await f.request("GET", "/api/v1/webhook-metrics")).status).toBe(401);
    const h = await get(f, "/api/v1/webhook-health");
    expect(h.status).toBe("degraded");
    expect(h.subscribers.find((s: any) => s.id === "ok")).toMatchObject({ status: "healthy", consecutive_failures: 0, circuit: "closed" });
    expect(h.subscribers.find((s: any) => s.id === "bad").last_failure_at).not.toBeNull();
    const fl = await get(f, "/api/v1/webhook-failures?limit=5&since=" + encodeURIComponent(new Date(Date.now() - 60_000).toISOString()));
    expect(fl.count).toBe(1);
    expect(fl.failures[0]).toMatchObject({ subscriber_id: "bad", event_id: "e2", status: "failed", last_error: "HTTP 400" });
    const health = (await (await f.request("GET", "/health")).json()) as any;
    expect(health.webhooks.subscribers.ok.status).toBe("healthy");
    const prom = await (await f.request("GET", "/metrics")).text();
    expect(prom).toContain('ferry_webhook_attempts_total{subscriber="ok",outcome="delivered"} 2');
    expect(prom).toContain('ferry_webhook_deliveries{subscriber="bad",status="failed"} 1');
    expect(prom).toContain("ferry_webhook_circuit_open");
  });

  test("circuit breaker opens after N consecutive failures and half-opens with one probe after the cool-down", async () => {
    const clock = new ManualClock();
    const rx = await fake({ reply: { status: 503 } });
    const f = await ferry([sub("s", rx.url, { concurrency: 1, retry: { max_attempts: 10, base_ms: 100, max_ms: 100 } })], {
      clock,
      webhooks: { circuit_breaker: { failure_threshold: 3, cooldown: "10s" } },
    });
    for (let i = 0; i < 5; i++) await publish(f, { id: `cb${i}`, name: "attempt.started", data: {} });
    await rx.waitForRequests(3);
    await waitFor(async () => (await get(f, "/api/v1/webhook-health")).subscribers[0].circuit === "open");
    // Backoff would retry after 100 ms, but the circuit holds everything for the cool-down.
    advance(f, clock, 5000);
    await Bun.sleep(150);
    expect(rx.requests).toHaveLength(3);
    const h = await get(f, "/api/v1/webhook-health");
    expect(h.subscribers[0]).toMatchObject({ status: "failing", circuit: "open", consecutive_failures: 3 });
    rx.setDefault({ status: 200 });
    advance(f, clock, 5100);
    await waitFor(async () => {
      const ids = [0, 1, 2, 3, 4].map((i) => deliveryIds(f, `cb${i}`)[0]!);
      const all = await Promise.all(ids.map((id) => delivery(f, id)));
      return all.every((d) => d.status === "delivered");
    });
    expect(rx.requests).toHaveLength(8); // 3 failures, then the probe and the 4 others
    expect((await get(f, "/api/v1/webhook-health")).subscribers[0]).toMatchObject({ status: "healthy", circuit: "closed" });
  });

  test("SIGHUP reload adds subscribers; empty URLs are not registered; URLs are shown without credentials, secrets never", async () => {
    const rx = await fake();
    const f = await ferry([sub("first", rx.url.replace("http://", "http://user:pw@"), { api_key: "SECRET-KEY", secret: "SECRET-SIGN" }), sub("empty", "")]);
    let p = await get(f, "/api/v1/plugins");
    expect(p.active_count).toBe(1);
    expect(p.external_service_count).toBe(1);
    expect(p.plugins[0]).toEqual({ id: "first", name: "Sub first", type: "external", active: true, url: rx.url, events: ["*"] });
    expect(JSON.stringify(p)).not.toContain("SECRET");
    expect(JSON.stringify(p)).not.toContain("pw@");
    expect(p.inactive.map((x: any) => x.id)).toEqual(["empty"]);
    const rx2 = await fake();
    const cfg = JSON.parse(await Bun.file(f.configPath).text());
    cfg.webhooks.subscribers.push(sub("second", rx2.url, { events: ["attempt.*"] }));
    writeFileSync(f.configPath, JSON.stringify(cfg));
    expect(f.daemon.reload()).toBe(true);
    p = await get(f, "/api/v1/plugins");
    expect(p.active_count).toBe(2);
    await publish(f, { id: "after_reload", name: "attempt.started", data: {} });
    await rx2.waitForRequests(1);
    // An invalid file keeps the running config.
    writeFileSync(f.configPath, JSON.stringify({ ...cfg, webhooks: { subscribers: [{ id: "x", retry: { backoff: "schedule" } }] } }));
    expect(f.daemon.reload()).toBe(false);
    expect((await get(f, "/api/v1/plugins")).active_count).toBe(2);
  });

  test("retention prunes delivered deliveries (and their attempts) but keeps failed ones, and the events they reference", async () => {
    const clock = new ManualClock();
    const ok = await fake();
    const bad = await fake({ reply: { status: 400 } });
    const f = await ferry([sub("ok", ok.url), sub("bad", bad.url, { events: ["attempt.started"] })], { clock });
    for (let i = 0; i < 3; i++) await publish(f, { id: `r${i}`, name: "attempt.started", data: { i } });
    // Only "ok" gets this one: once its delivery is pruned nothing references the event.
    await publish(f, { id: "r-ok-only", name: "attempt.submitted", data: {} });
    await waitFor(() => f.daemon.store.db.prepare("SELECT count(*) FROM webhook_deliveries WHERE status IN ('delivered','failed')").pluck().get() === 7);
    clock.advance(8 * 86_400_000);
    await f.daemon.ctx.scheduler.runNow("webhooks.pruner");
    const db = f.daemon.store.db;
    const left = db.prepare("SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status").all();
    expect(left).toEqual([{ status: "failed", n: 3 }]);
    expect(db.prepare("SELECT count(*) FROM webhook_attempts").pluck().get()).toBe(3);
    // A delivery's body is its event's envelope (stored once): events still referenced are kept.
    expect(db.prepare("SELECT id FROM events ORDER BY id").pluck().all()).toEqual(["r0", "r1", "r2"]);
    expect(db.prepare("SELECT count(*) FROM webhook_deliveries WHERE body IS NOT NULL").pluck().get()).toBe(0);
    const failed = deliveryIds(f, "r1")[0]!;
    expect((await delivery(f, failed)).payload).toMatchObject({ id: "r1", name: "attempt.started", data: { i: 1 } });
    // Replayed after the prune: the same body bytes as the first attempt.
    const sent = () => bad.requests.filter((r) => r.headers["x-event-id"] === "r1");
    expect(sent()).toHaveLength(1);
    expect((await f.request("POST", `/api/v1/deliveries/${failed}/retry`, { token: TOKEN })).status).toBe(202);
    await waitFor(() => sent().length === 2);
    expect(sent()[1]!.body).toBe(sent()[0]!.body);
  });
});
