import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import { waitFor } from "../helpers/ferry";
import { delivery, deliveryIds, perTestResources, publish, sub, TOKEN, waitStatus } from "./helpers";

const { fake, ferry } = perTestResources();
const whsec = (key: string) => "whsec_" + Buffer.from(key).toString("base64");
const OLD = whsec("old-signing-key-of-32-bytes-long");
const NEW = whsec("new-signing-key-of-32-bytes-long");

describe("secret rotation", () => {
  test("previous_secrets: one v1 signature per secret; receivers on the old and on the new secret both verify the same deliveries; SIGHUP drops the old one", async () => {
    const rx = await fake();
    // 500 first, so the same delivery is seen twice (a retry) under the rotated config.
    rx.reply({ status: 500 });
    const f = await ferry([sub("s", rx.url, { secret: OLD, retry: { max_attempts: 3, base_ms: 1000, max_ms: 1000 } })]);
    await publish(f, { id: "rot_1", name: "attempt.started", data: { n: 1 } });
    let [req] = await rx.waitForRequests(1);
    expect(new Webhook(OLD).verify(req!.body, req!.headers)).toMatchObject({ id: "rot_1" });
    expect(() => new Webhook(NEW).verify(req!.body, req!.headers)).toThrow();

    // Step 1 of the procedure: the new secret becomes current, the old one stays as previous (SIGHUP).
    const cfg = JSON.parse(await Bun.file(f.configPath).text());
    cfg.webhooks.subscribers[0] = { ...cfg.webhooks.subscribers[0], secret: NEW, previous_secrets: [OLD] };
    writeFileSync(f.configPath, JSON.stringify(cfg));
    expect(f.daemon.reload()).toBe(true);
    const reqs = await rx.waitForRequests(2); // the retry of rot_1
    await publish(f, { id: "rot_2", name: "attempt.started", data: { n: 2 } });
    await rx.waitForRequests(3);
    for (const r of rx.requests.slice(1)) {
      const sigs = r.headers["webhook-signature"]!.split(" ");
      expect(sigs).toHaveLength(2);
      expect(sigs.every((s) => s.startsWith("v1,"))).toBe(true);
      // The same delivery verifies for a receiver on either secret (the reference library).
      expect(new Webhook(NEW).verify(r.body, r.headers)).toMatchObject({ name: "attempt.started" });
      expect(new Webhook(OLD).verify(r.body, r.headers)).toMatchObject({ name: "attempt.started" });
      // X-Signature carries the current secret only.
      expect(r.headers["x-signature"]).toBe(createHmac("sha256", NEW).update(r.body).digest("hex"));
    }
    expect(reqs[1]!.headers["webhook-id"]).toBe(reqs[0]!.headers["webhook-id"]);
    await waitStatus(f, deliveryIds(f, "rot_1")[0]!, "delivered");

    // Step 3: receivers switched; the old secret is dropped and no longer verifies.
    cfg.webhooks.subscribers[0] = { ...cfg.webhooks.subscribers[0], previous_secrets: [] };
    writeFileSync(f.configPath, JSON.stringify(cfg));
    expect(f.daemon.reload()).toBe(true);
    await publish(f, { id: "rot_3", name: "attempt.started", data: { n: 3 } });
    [, , , req] = await rx.waitForRequests(4);
    expect(req!.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(new Webhook(NEW).verify(req!.body, req!.headers)).toMatchObject({ id: "rot_3" });
    expect(() => new Webhook(OLD).verify(req!.body, req!.headers)).toThrow();
    // Secrets never show in the API.
    const text = await (await f.request("GET", "/api/v1/config", { token: TOKEN })).text();
    expect(text).not.toContain(OLD);
    expect(text).not.toContain(NEW);
  });
});

describe("max_rate", () => {
  test("a max_rate: 20 subscriber receives 100 events at ≤ 20/s, using one attempt each; an unlimited one is not held back", async () => {
    const slow = await fake();
    const fast = await fake();
    const f = await ferry([sub("slow", slow.url, { max_rate: 20 }), sub("fast", fast.url)]);
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 100 }, (_, i) => publish(f, { id: `rate_${i}`, name: "attempt.started", data: { i } })));
    await fast.waitForRequests(100, 10_000);
    const fastDone = Date.now() - t0;
    const h = (await (await f.request("GET", "/api/v1/webhook-health", { token: TOKEN })).json()) as any;
    expect(h.subscribers.find((s: any) => s.id === "slow")).toMatchObject({ max_rate: 20, rate_limited: true });
    expect(h.subscribers.find((s: any) => s.id === "fast")).toMatchObject({ max_rate: 0, rate_limited: false });
    await slow.waitForRequests(100, 15_000);
    const times = slow.requests.map((r) => r.at).sort((a, b) => a - b);
    const span = (times[99]! - times[0]!) / 1000;
    // 100 deliveries at 20/s with a burst of 2: at least (100 - 2) / 20 = 4.9 s.
    expect(span).toBeGreaterThanOrEqual(4.8);
    // In no one-second window more attempts started than the rate plus the burst (ferry's own
    // start times; arrivals at the receiver may bunch a little more on a loaded machine).
    const worst = (ts: number[]) => {
      let w = 0;
      for (let i = 0, j = 0; i < ts.length; i++) {
        while (ts[i]! - ts[j]! >= 1000) j++;
        w = Math.max(w, i - j + 1);
      }
      return w;
    };
    const startsOf = () => f.daemon.store.db.prepare("SELECT started_at FROM webhook_attempts WHERE subscriber_id = 'slow' ORDER BY started_at").pluck().all() as number[];
    await waitFor(() => startsOf().length >= 100, 5000, "100 attempt records");
    const starts = startsOf();
    expect(starts).toHaveLength(100); // one attempt each: waiting for the bucket used none
    expect(worst(starts)).toBeLessThanOrEqual(22);
    expect(worst(times)).toBeLessThanOrEqual(26);
    expect(fastDone).toBeLessThan(span * 1000 / 2);
    // Waiting for the bucket used no attempts.
    const d = await waitStatus(f, deliveryIds(f, "rate_99")[0]!, "delivered");
    expect(d.attempt_count).toBe(1);
    const prom = await (await f.request("GET", "/metrics")).text();
    expect(prom).toContain('ferry_webhook_max_rate{subscriber="slow"} 20');
    expect(prom).toMatch(/ferry_webhook_rate_limited_total\{subscriber="slow"\} [1-9]/);
    await waitFor(async () => ((await (await f.request("GET", "/api/v1/webhook-health", { token: TOKEN })).json()) as any).subscribers.find((s: any) => s.id === "slow").rate_limited === false);
  }, 30_000);
});
