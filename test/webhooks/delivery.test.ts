import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { FakeSubscriber } from "../fakes/subscriber";
import { waitFor, type TestFerry } from "../helpers/ferry";
import { advance, delivery, deliveryIds, ferryWith, ManualClock, perTestResources, publish, sub, TOKEN, waitStatus } from "./helpers";

const { fake, ferry, onCleanup } = perTestResources();

const SECRET_B64 = Buffer.from("a-32-byte-long-signing-key-here!").toString("base64");
const WHSEC = `whsec_${SECRET_B64}`;

const attemptEvent = (id: string) => ({
  id,
  name: "attempt.submitted",
  context: { tenantId: "tenant-123", organisationId: "org-456", userId: "user-789" },
  data: { attemptId: "attempt-abc", testId: "test-def", score: 85, result: "pass", timeSpent: 3600 },
});

describe("delivery outcomes", () => {
  test("2xx delivers the exact envelope, signed with X-Signature and Standard Webhooks (whsec_ secret)", async () => {
    const rx = await fake();
    const f = await ferry([sub("ext", rx.url, { secret: WHSEC, api_key: "key-123", headers: { "X-Source": "ferry" }, events: ["attempt.*", "test.published"] })]);
    const r = await publish(f, attemptEvent("evt_sig_1"));
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ id: "evt_sig_1" });
    const [req] = await rx.waitForRequests(1);
    const body = JSON.parse(req!.body);
    expect(Object.keys(body)).toEqual(["name", "context", "data", "timestamp", "id"]);
    expect(body).toMatchObject({ ...attemptEvent("evt_sig_1") });
    const h = req!.headers;
    expect(h["content-type"]).toBe("application/json");
    expect(h["user-agent"]).toMatch(/^ferry\//);
    expect(h["x-event-name"]).toBe("attempt.submitted");
    expect(h["x-event-id"]).toBe("evt_sig_1");
    expect(h["x-delivery-attempt"]).toBe("1");
    expect(h["x-source"]).toBe("ferry");
    expect(h.authorization).toBe("Bearer key-123");
    // Independent computations of both signatures over the raw bytes received.
    expect(h["x-signature"]).toBe(createHmac("sha256", WHSEC).update(req!.body).digest("hex"));
    const expected = createHmac("sha256", Buffer.from(SECRET_B64, "base64")).update(`${h["webhook-id"]}.${h["webhook-timestamp"]}.${req!.body}`).digest("base64");
    expect(h["webhook-signature"]).toBe(`v1,${expected}`);
    expect(Math.abs(Number(h["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    // …and by the reference Standard Webhooks library.
    expect(new Webhook(WHSEC).verify(req!.body, h)).toEqual(body);
    expect(() => new Webhook(`whsec_${Buffer.from("another-key-of-32-bytes-length!!").toString("base64")}`).verify(req!.body, h)).toThrow();
    const [id] = deliveryIds(f, "evt_sig_1");
    const d = await waitStatus(f, id!, "delivered");
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ attempt: 1, status_code: 200, outcome: "delivered", response: "ok" });
    // Events outside the subscriber's list are not delivered.
    await publish(f, { id: "evt_other", name: "answer.submitted", data: { attemptId: "a" } });
    expect(deliveryIds(f, "evt_other")).toEqual([]);
  });

  test("a raw (non-whsec) secret signs with its raw bytes; the library verifies with format raw", async () => {
    const rx = await fake();
    const f = await ferry([sub("raw", rx.url, { secret: "plain-shared-secret" })]);
    await publish(f, { name: "test.published", data: { testId: "t1", testTitle: "Quiz", testType: "quiz", totalMarks: 10, questionCount: 5 } });
    const [req] = await rx.waitForRequests(1);
    const h = req!.headers;
    expect(h["x-signature"]).toBe(createHmac("sha256", "plain-shared-secret").update(req!.body).digest("hex"));
    const sig = createHmac("sha256", "plain-shared-secret").update(`${h["webhook-id"]}.${h["webhook-timestamp"]}.${req!.body}`).digest("base64");
    expect(h["webhook-signature"]).toBe(`v1,${sig}`);
    expect(new Webhook("plain-shared-secret", { format: "raw" }).verify(req!.body, h)).toMatchObject({ name: "test.published" });
  });

  test("500 then 200: retried on the backoff schedule with the same body bytes and the same webhook-id", async () => {
    const clock = new ManualClock();
    const rx = await fake();
    rx.reply({ status: 500, body: "boom" }, { status: 503 });
    const f = await ferry([sub("s", rx.url, { secret: WHSEC })], { clock });
    await publish(f, attemptEvent("evt_retry"));
    const [id] = deliveryIds(f, "evt_retry");
    let d = await waitStatus(f, id!, "retrying");
    expect(d.attempts[0]).toMatchObject({ attempt: 1, status_code: 500, outcome: "retry", response: "boom", error: "HTTP 500" });
    // First retry after base_ms (1 s) ± 20 % jitter: not before 0.8 s.
    const due = Date.parse(d.next_attempt_at) - clock.now();
    expect(due).toBeGreaterThanOrEqual(800);
    expect(due).toBeLessThanOrEqual(1200);
    advance(f, clock, 700);
    await Bun.sleep(100);
    expect(rx.requests).toHaveLength(1);
    advance(f, clock, 600);
    await rx.waitForRequests(2);
    d = await waitStatus(f, id!, "retrying");
    await waitFor(async () => (await delivery(f, id!)).attempts.length === 2);
    const due2 = Date.parse((await delivery(f, id!)).next_attempt_at) - clock.now();
    expect(due2).toBeGreaterThanOrEqual(1600); // second retry: 2 s ± 20 %
    advance(f, clock, 2500);
    await rx.waitForRequests(3);
    d = await waitStatus(f, id!, "delivered");
    expect(d.attempts.map((a: any) => a.status_code)).toEqual([500, 503, 200]);
    const ids = new Set(rx.requests.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBe(id);
    expect(new Set(rx.requests.map((r) => r.body)).size).toBe(1);
    expect(rx.requests.map((r) => r.headers["x-delivery-attempt"])).toEqual(["1", "2", "3"]);
    for (const r of rx.requests) expect(() => new Webhook(WHSEC).verify(r.body, r.headers)).not.toThrow();
  });

  test("429 honours Retry-After in seconds and as an HTTP date; 408 retries", async () => {
    const clock = new ManualClock();
    const rx = await fake();
    rx.reply({ status: 429, headers: { "retry-after": "120" } }, { status: 429, headers: { "retry-after": new Date(Date.now() + 300_000).toUTCString() } }, { status: 408 });
    const f = await ferry([sub("s", rx.url, { retry: { max_attempts: 5, base_ms: 1000, max_ms: 1000 } })], { clock });
    await publish(f, attemptEvent("evt_429"));
    const [id] = deliveryIds(f, "evt_429");
    const d = await waitStatus(f, id!, "retrying");
    expect(Date.parse(d.next_attempt_at) - clock.now()).toBe(120_000);
    advance(f, clock, 60_000);
    await Bun.sleep(100);
    expect(rx.requests).toHaveLength(1); // backoff (1 s) ignored in favour of Retry-After
    advance(f, clock, 61_000);
    await rx.waitForRequests(2);
    await waitFor(async () => (await delivery(f, id!)).attempts.length === 2);
    const d2 = await delivery(f, id!);
    const wait = Date.parse(d2.next_attempt_at) - clock.now();
    expect(wait).toBeGreaterThan(290_000);
    expect(wait).toBeLessThanOrEqual(300_000);
    advance(f, clock, 301_000);
    await rx.waitForRequests(3);
    await waitFor(async () => (await delivery(f, id!)).attempts.length === 3);
    expect((await delivery(f, id!)).attempts[2]).toMatchObject({ status_code: 408, outcome: "retry" });
    advance(f, clock, 2000);
    await waitStatus(f, id!, "delivered");
  });

  test("other 4xx fails at once with no retry", async () => {
    const clock = new ManualClock();
    const rx = await fake();
    rx.setDefault({ status: 400, body: '{"error":"bad"}' });
    const f = await ferry([sub("s", rx.url)], { clock });
    await publish(f, attemptEvent("evt_400"));
    const [id] = deliveryIds(f, "evt_400");
    const d = await waitStatus(f, id!, "failed");
    expect(d.attempts).toEqual([expect.objectContaining({ status_code: 400, outcome: "failed", response: '{"error":"bad"}' })]);
    advance(f, clock, 3_600_000);
    await Bun.sleep(100);
    expect(rx.requests).toHaveLength(1);
    const failures = (await (await f.request("GET", "/api/v1/webhook-failures?limit=10", { token: TOKEN })).json()) as any;
    expect(failures.failures[0]).toMatchObject({ delivery_id: id, status: "failed", last_status: 400, last_error: "HTTP 400" });
  });

  test("410 disables the subscriber (persisted across restart) and publishes subscriber.disabled", async () => {
    const gone = await fake({ reply: { status: 410 } });
    const ops = await fake();
    const subs = [sub("gone", gone.url, { events: ["attempt.*"] }), sub("ops", ops.url, { events: ["subscriber.*", "delivery.*"] })];
    const f = await ferryWith(subs);
    await publish(f, attemptEvent("evt_410"));
    const [id] = deliveryIds(f, "evt_410");
    await waitStatus(f, id!, "failed");
    const [opsReq] = await ops.waitForRequests(1);
    const op = JSON.parse(opsReq!.body);
    expect(op).toMatchObject({ name: "subscriber.disabled", data: { subscriber_id: "gone", delivery_id: id } });
    const plugins = (await (await f.request("GET", "/api/v1/plugins", { token: TOKEN })).json()) as any;
    expect(plugins.active_count).toBe(1);
    expect(plugins.plugins.map((p: any) => p.id)).toEqual(["ops"]);
    const health = (await (await f.request("GET", "/api/v1/webhook-health", { token: TOKEN })).json()) as any;
    expect(health.subscribers.find((s: any) => s.id === "gone").status).toBe("disabled");
    await publish(f, attemptEvent("evt_410_b"));
    expect(deliveryIds(f, "evt_410_b")).toEqual([]);
    // Disabled state is on disk: a restart on the same database keeps it.
    await f.stop();
    const { startFerry } = await import("../helpers/ferry");
    const f2 = await startFerry({ auth: { api_tokens: [TOKEN] }, webhooks: { allow_private_targets: true, subscribers: subs } }, { dir: f.dir });
    onCleanup(() => f2.stop());
    await publish(f2, attemptEvent("evt_410_c"));
    expect(deliveryIds(f2, "evt_410_c")).toEqual([]);
    expect(gone.requests).toHaveLength(1);
  });

  test("a timeout and a refused connection are retried; exhaustion makes the delivery dead, replay delivers it", async () => {
    const clock = new ManualClock();
    const rx = await fake();
    rx.reply("hang");
    const ops = await fake();
    const f = await ferry(
      [sub("s", rx.url, { events: ["attempt.*"], timeout_ms: 300, retry: { max_attempts: 2, base_ms: 1000, max_ms: 1000 } }), sub("ops", ops.url, { events: ["delivery.exhausted"] })],
      { clock },
    );
    await publish(f, attemptEvent("evt_dead"));
    const [id] = deliveryIds(f, "evt_dead");
    let d = await waitStatus(f, id!, "retrying");
    expect(d.attempts[0].error).toBe("timeout after 300 ms");
    expect(d.attempts[0].status_code).toBeNull();
    await rx.refuse();
    advance(f, clock, 1500);
    d = await waitStatus(f, id!, "dead");
    expect(d.attempts).toHaveLength(2);
    expect(d.attempts[1].error).toMatch(/^connection failed/);
    const [ex] = await ops.waitForRequests(1);
    expect(JSON.parse(ex!.body)).toMatchObject({ name: "delivery.exhausted", data: { delivery_id: id, subscriber_id: "s", event_id: "evt_dead", attempts: 2 } });
    // Replay: back to pending, same webhook-id, delivered once the receiver is back.
    rx.resume();
    const r = await f.request("POST", `/api/v1/deliveries/${id}/retry`, { token: TOKEN });
    expect(r.status).toBe(202);
    d = await waitStatus(f, id!, "delivered");
    expect(d.attempts.map((a: any) => a.outcome)).toEqual(["retry", "dead", "delivered"]);
    const again = await f.request("POST", `/api/v1/deliveries/${id}/retry`, { token: TOKEN });
    expect(again.status).toBe(202); // a delivered one may be re-sent on purpose
    await waitFor(() => rx.requests.length === 3);
    expect((await f.request("POST", `/api/v1/deliveries/nope/retry`, { token: TOKEN })).status).toBe(404);
  });

  test("bulk replay by time window and subscriber", async () => {
    const rx = await fake({ reply: { status: 422 } });
    const f = await ferry([sub("a", rx.url)]);
    for (let i = 0; i < 3; i++) await publish(f, attemptEvent(`evt_bulk_${i}`));
    await waitFor(async () => ((await (await f.request("GET", "/api/v1/webhook-failures", { token: TOKEN })).json()) as any).count === 3);
    rx.setDefault({ status: 200 });
    const none = (await (await f.request("POST", "/api/v1/webhook-failures/retry", { token: TOKEN, body: { subscriber_id: "other" } })).json()) as any;
    expect(none.replayed).toBe(0);
    const res = await f.request("POST", "/api/v1/webhook-failures/retry", { token: TOKEN, body: { subscriber_id: "a", since: new Date(Date.now() - 60_000).toISOString() } });
    expect(res.status).toBe(202);
    expect(((await res.json()) as any).replayed).toBe(3);
    await rx.waitForRequests(6);
    for (let i = 0; i < 3; i++) await waitStatus(f, deliveryIds(f, `evt_bulk_${i}`)[0]!, "delivered");
    const bad = await f.request("POST", "/api/v1/webhook-failures/retry", { token: TOKEN, body: { status: ["nope"] } });
    expect(bad.status).toBe(422);
  });

  test("SSRF guard: 127.0.0.1 is refused when private targets are not allowed, allowed via the allow-list", async () => {
    const rx = await fake();
    const f = await ferry([sub("s", rx.url)], { webhooks: { allow_private_targets: false } });
    await publish(f, attemptEvent("evt_ssrf"));
    const [id] = deliveryIds(f, "evt_ssrf");
    const d = await waitStatus(f, id!, "failed");
    expect(d.attempts[0].error).toMatch(/^refused: target 127\.0\.0\.1 resolves to private address 127\.0\.0\.1/);
    expect(rx.requests).toHaveLength(0);
    const g = await ferry([sub("s", rx.url)], { webhooks: { allow_private_targets: false, allowed_targets: ["127.0.0.0/8"] } });
    await publish(g, attemptEvent("evt_ssrf_ok"));
    await waitStatus(g, deliveryIds(g, "evt_ssrf_ok")[0]!, "delivered");
    expect(rx.requests).toHaveLength(1);
  });

  test("a black-holed subscriber does not slow a healthy one", async () => {
    const hole = await fake({ reply: "hang" });
    const ok = await fake();
    const f = await ferry([sub("hole", hole.url, { timeout_ms: 5000, concurrency: 4 }), sub("ok", ok.url)]);
    const t0 = Date.now();
    const n = 100;
    await Promise.all(Array.from({ length: n }, (_, i) => publish(f, { name: "attempt.started", data: { attemptId: `a${i}` } })));
    await ok.waitForRequests(n, 4000);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(hole.requests.length).toBeLessThanOrEqual(4); // its cap, still hanging
    await hole.stop(); // lets the hanging attempts end so shutdown is quick
  });
});
