import { afterAll, describe, expect, test } from "bun:test";
import { FakeSubscriber } from "../fakes/subscriber";
import { waitFor } from "../helpers/ferry";
import { deliveryIds, ferryWith, publish, sub, TOKEN } from "../webhooks/helpers";

const rx = await FakeSubscriber.start();
const f = await ferryWith([sub("all", rx.url, { events: ["attempt.*", "moodle.*"] })]);
afterAll(async () => {
  await f.stop();
  await rx.stop();
});

describe("event bus and POST /api/v1/events", () => {
  test("same id → same answer, one fan-out", async () => {
    const ev = { id: "evt_same", name: "attempt.started", context: { tenantId: "t1" }, data: { attemptId: "a", testId: "t", attemptNumber: 1 } };
    const a = await publish(f, ev);
    const b = await publish(f, { ...ev, data: { changed: true } });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(await a.json()).toEqual({ id: "evt_same" });
    expect(await b.json()).toEqual({ id: "evt_same" });
    // Concurrent duplicates in one group commit too.
    const many = await Promise.all(Array.from({ length: 5 }, () => publish(f, { ...ev, id: "evt_same_2" })));
    expect(many.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(deliveryIds(f, "evt_same")).toHaveLength(1);
    expect(deliveryIds(f, "evt_same_2")).toHaveLength(1);
    await waitFor(() => rx.requests.filter((r) => r.headers["x-event-id"]?.startsWith("evt_same")).length === 2);
    await Bun.sleep(100);
    expect(rx.requests.filter((r) => r.headers["x-event-id"]?.startsWith("evt_same")).length).toBe(2);
  });

  test("an id is generated when absent; envelope defaults", async () => {
    const r = await publish(f, { name: "attempt.submitted", data: { attemptId: "z" } });
    const { id } = (await r.json()) as any;
    expect(id).toMatch(/^evt_/);
    await waitFor(() => rx.requests.find((q) => q.headers["x-event-id"] === id));
    const body = JSON.parse(rx.requests.find((q) => q.headers["x-event-id"] === id)!.body);
    expect(body.context).toEqual({ tenantId: null, organisationId: null, userId: null });
    expect(Date.parse(body.timestamp)).toBeGreaterThan(Date.now() - 60_000);
  });

  test("bad input → 401 / 422 naming the field", async () => {
    expect((await f.request("POST", "/api/v1/events", { body: { name: "x", data: {} } })).status).toBe(401);
    const r = await publish(f, { name: "bad name!", data: {} });
    expect(r.status).toBe(422);
    expect(((await r.json()) as any).error.message).toContain("name");
    const r2 = await publish(f, { name: "a.b", data: {}, extra: 1 });
    expect(r2.status).toBe(422);
    const r3 = await publish(f, { name: "a.b", data: [], context: { tenantId: 5 } });
    expect(r3.status).toBe(422);
  });

  test("in-process hooks run by priority after commit; a failing hook does not block the others", async () => {
    const seen: string[] = [];
    f.daemon.ctx.bus.hook("late", "attempt.*", (e) => void seen.push(`late:${e.id}`), 200);
    f.daemon.ctx.bus.hook("boom", "attempt.*", () => {
      throw new Error("hook exploded");
    }, 5);
    f.daemon.ctx.bus.hook("early", "attempt.*", (e) => void seen.push(`early:${e.id}`), 10);
    await publish(f, { id: "evt_hooks", name: "attempt.started", data: {} });
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual(["early:evt_hooks", "late:evt_hooks"]);
  });

  test("ctx.bus.publish inside a module's transaction: stored with its deliveries; a rolled-back write publishes nothing", async () => {
    const fired: string[] = [];
    f.daemon.ctx.bus.hook("watch", "moodle.*", (e) => void fired.push(e.id), 50);
    await f.daemon.store.write((db) => f.daemon.ctx.bus.publish(db, { id: "evt_tx_ok", name: "moodle.user_created", data: { userid: 1 } }));
    expect(deliveryIds(f, "evt_tx_ok")).toHaveLength(1);
    await expect(
      f.daemon.store.write((db) => {
        f.daemon.ctx.bus.publish(db, { id: "evt_tx_rolled_back", name: "moodle.user_created", data: { userid: 2 } });
        throw new Error("the module's own write failed");
      }),
    ).rejects.toThrow("the module's own write failed");
    expect(deliveryIds(f, "evt_tx_rolled_back")).toHaveLength(0);
    expect(f.daemon.store.db.prepare("SELECT count(*) FROM events WHERE id = ?").pluck().get("evt_tx_rolled_back")).toBe(0);
    await waitFor(() => rx.requests.find((q) => q.headers["x-event-id"] === "evt_tx_ok"));
    await Bun.sleep(50);
    expect(fired).toEqual(["evt_tx_ok"]);
    expect(rx.requests.find((q) => q.headers["x-event-id"] === "evt_tx_rolled_back")).toBeUndefined();
  });
});
