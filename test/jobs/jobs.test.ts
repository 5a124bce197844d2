import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { FakeSubscriber } from "../fakes/subscriber";
import { waitFor, type TestFerry } from "../helpers/ferry";
import { advance, delivery, deliveryIds, ferryWith, ManualClock, perTestResources, publish, sub, TOKEN, waitStatus } from "../webhooks/helpers";

const SECRET = "jobs-shared-secret";
const { fake, ferry, onCleanup } = perTestResources({ jobs: { secret: SECRET } });
const sign = (raw: string) => createHmac("sha256", SECRET).update(raw).digest("hex");

async function submit(f: TestFerry, body: Record<string, unknown>): Promise<Response> {
  const raw = JSON.stringify(body);
  return f.request("POST", "/api/v1/jobs", { body: raw, headers: { "x-signature": sign(raw) } });
}
async function json(r: Response | Promise<Response>): Promise<any> {
  return (await r).json();
}
const status = (f: TestFerry, id: string) => json(f.request("GET", `/api/v1/jobs/${id}/status`, { token: TOKEN }));

/** Makes `n` dead deliveries (receiver answers 400) and returns their ids. */
async function deadDeliveries(f: TestFerry, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    await publish(f, { id: `evt_replay_${i}`, name: "attempt.started", data: { attemptId: `a${i}` } });
    const [d] = deliveryIds(f, `evt_replay_${i}`);
    await waitStatus(f, d!, "failed");
    ids.push(d!);
  }
  return ids;
}

describe("jobs API", () => {
  test("webhooks.replay job runs to completed; its completion webhook arrives signed with exactly the spec's body", async () => {
    const rx = await fake({ reply: { status: 400 } });
    const hook = await fake();
    const ops = await fake();
    const f = await ferry([sub("s", rx.url, { events: ["attempt.*"] }), sub("ops", ops.url, { events: ["job.*"] })]);
    const ids = await deadDeliveries(f, 2);
    rx.setDefault({ status: 200 });
    const r = await submit(f, { type: "webhooks.replay", items: ids, webhook_url: hook.url });
    expect(r.status).toBe(202);
    const accepted = await json(r);
    expect(accepted).toEqual({
      job_id: expect.stringMatching(/^job_/),
      status: "queued",
      total_lots: 2,
      status_url: `${f.url}/api/v1/jobs/${accepted.job_id}/status`,
      results_url: `${f.url}/api/v1/jobs/${accepted.job_id}/results`,
    });
    const [req] = await hook.waitForRequests(1);
    const body = JSON.parse(req!.body);
    expect(Object.keys(body).sort()).toEqual(["completed_lots", "failed_lots", "job_id", "results_available", "status", "timestamp", "total_lots", "webhook_url"]);
    expect(body).toMatchObject({ job_id: accepted.job_id, status: "completed", total_lots: 2, completed_lots: 2, failed_lots: 0, webhook_url: hook.url, results_available: true });
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["user-agent"]).toMatch(/^ferry\//);
    expect(req!.headers["x-signature"]).toBe(sign(req!.body));
    for (const d of ids) await waitStatus(f, d, "delivered");
    const st = await status(f, accepted.job_id);
    expect(st).toMatchObject({ job_id: accepted.job_id, status: "completed", total_lots: 2, completed_lots: 2, failed_lots: 0 });
    expect(st.started_at).not.toBeNull();
    expect(st.finished_at).not.toBeNull();
    const res = await json(f.request("GET", `/api/v1/jobs/${accepted.job_id}/results?limit=1`, { token: TOKEN }));
    expect(res).toMatchObject({ total: 2, offset: 0, limit: 1, next_offset: 1, results: [{ index: 0, status: "completed", result: { replayed: true }, error: null }] });
    const page2 = await json(f.request("GET", `/api/v1/jobs/${accepted.job_id}/results?offset=1&limit=1`, { token: TOKEN }));
    expect(page2.next_offset).toBeNull();
    // job.completed on the bus reaches a subscriber.
    const [evt] = await ops.waitForRequests(1);
    expect(JSON.parse(evt!.body)).toMatchObject({ name: "job.completed", data: { job_id: accepted.job_id, status: "completed" } });
    // The completion webhook is visible in the webhook metrics like any delivery.
    const m = await json(f.request("GET", "/api/v1/webhook-metrics?hours=1", { token: TOKEN }));
    expect(m.subscribers.find((s: any) => s.id === "_jobs")).toMatchObject({ delivered: 1 });
  });

  test("failed and partially_completed jobs; legacy body signatures (lots) are accepted; job.failed is published", async () => {
    const rx = await fake({ reply: { status: 400 } });
    const hook = await fake();
    const ops = await fake();
    // A legacy signature does not cover webhook_url: the receiver's host must be allowed for it.
    const f = await ferry([sub("s", rx.url, { events: ["attempt.*"] }), sub("ops", ops.url, { events: ["job.failed"] })], {
      config: { jobs: { secret: SECRET, allowed_webhook_hosts: ["127.0.0.1"] } },
    });
    const [dead] = await deadDeliveries(f, 1);
    const lots = ["msg_missing_1", "msg_missing_2"];
    // Older clients: body field `signature` = HMAC of the lots array as JSON (compact here).
    const failed = await json(f.request("POST", "/api/v1/jobs", { body: { type: "webhooks.replay", lots, webhook_url: hook.url, signature: sign(JSON.stringify(lots)) } }));
    expect(failed.total_lots).toBe(2);
    const mixed = ["msg_missing_3", dead!];
    // …or in Python's json.dumps style.
    const pySig = sign(`["msg_missing_3", "${dead}"]`);
    const partial = await json(f.request("POST", "/api/v1/jobs", { body: { type: "webhooks.replay", lots: mixed, webhook_url: hook.url, signature: pySig } }));
    await hook.waitForRequests(2);
    const bodies = hook.requests.map((r) => JSON.parse(r.body));
    expect(bodies.find((b) => b.job_id === failed.job_id)).toMatchObject({ status: "failed", completed_lots: 0, failed_lots: 2 });
    expect(bodies.find((b) => b.job_id === partial.job_id)).toMatchObject({ status: "partially_completed", completed_lots: 1, failed_lots: 1 });
    for (const r of hook.requests) expect(r.headers["x-signature"]).toBe(sign(r.body));
    const res = await json(f.request("GET", `/api/v1/jobs/${failed.job_id}/results`, { token: TOKEN }));
    expect(res.results[0]).toMatchObject({ status: "failed", error: "no delivery msg_missing_1" });
    const [evt] = await ops.waitForRequests(1);
    expect(JSON.parse(evt!.body)).toMatchObject({ name: "job.failed", data: { job_id: failed.job_id } });
  });

  test("request checks: signature missing/invalid → 401, unknown type → 422 listing types, bad items → 422, capability absent → 422", async () => {
    const f = await ferry([]);
    const body = { type: "webhooks.replay", items: ["x"] };
    const none = await f.request("POST", "/api/v1/jobs", { body });
    expect(none.status).toBe(401);
    const wrong = await f.request("POST", "/api/v1/jobs", { body, headers: { "x-signature": sign("something else") } });
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).error.code).toBe("invalid_signature");
    const legacyWrong = await f.request("POST", "/api/v1/jobs", { body: { ...body, signature: "00" } });
    expect(legacyWrong.status).toBe(401);
    const unknown = await submit(f, { type: "nope", items: [1] });
    expect(unknown.status).toBe(422);
    expect((await json(unknown)).error.message).toContain("moodle.import, recommendations.rebuild, webhooks.replay");
    const badItem = await submit(f, { type: "recommendations.rebuild", items: [{ course_id: 2 }, { user_id: "x" }] });
    expect(badItem.status).toBe(422);
    expect((await json(badItem)).error.message).toContain("items[1]");
    const noItems = await submit(f, { type: "webhooks.replay" });
    expect(noItems.status).toBe(422);
    const badUrl = await submit(f, { type: "webhooks.replay", items: ["x"], webhook_url: "ftp://x" });
    expect(badUrl.status).toBe(422);
    // A ferry without the Moodle pipeline refuses moodle.import up front.
    const saved = f.daemon.ctx.capabilities.moodleIngest;
    delete f.daemon.ctx.capabilities.moodleIngest;
    const noMoodle = await submit(f, { type: "moodle.import", items: [{}] });
    expect(noMoodle.status).toBe(422);
    expect((await json(noMoodle)).error.message).toContain("Moodle pipeline is not available");
    f.daemon.ctx.capabilities.moodleIngest = saved;
    expect((await f.request("GET", "/api/v1/jobs/job_nope/status", { token: TOKEN })).status).toBe(404);
    expect((await f.request("GET", "/api/v1/jobs/job_nope/status")).status).toBe(401);
  });

  test("completion webhook retries at 1, 2, 4, 8, 16 minutes (no retry on 4xx)", async () => {
    const clock = new ManualClock();
    const hook = await fake({ reply: { status: 500 } });
    const f = await ferry([], { clock });
    const job = await json(submit(f, { type: "webhooks.replay", items: ["msg_x"], webhook_url: hook.url }));
    await hook.waitForRequests(1);
    const st = await waitFor(async () => (await status(f, job.job_id)).webhook_delivery_id, 5000);
    const id = st as string;
    const schedule = [1, 2, 4, 8, 16];
    for (let i = 0; i < schedule.length; i++) {
      await waitFor(async () => (await delivery(f, id)).attempts.length === i + 1, 5000, `attempt ${i + 1} recorded`);
      const d = await delivery(f, id);
      expect(d.status).toBe("retrying");
      expect(Date.parse(d.next_attempt_at) - clock.now()).toBe(schedule[i]! * 60_000);
      advance(f, clock, schedule[i]! * 60_000 - 1000);
      await Bun.sleep(50);
      expect(hook.requests).toHaveLength(i + 1);
      advance(f, clock, 1000);
      await hook.waitForRequests(i + 2);
    }
    const d = await waitStatus(f, id, "dead");
    expect(d.attempts).toHaveLength(6);
    // A 4xx is not retried.
    hook.setDefault({ status: 404 });
    const job2 = await json(submit(f, { type: "webhooks.replay", items: ["msg_y"], webhook_url: hook.url }));
    const id2 = (await waitFor(async () => (await status(f, job2.job_id)).webhook_delivery_id, 5000)) as string;
    const d2 = await waitStatus(f, id2, "failed");
    expect(d2.attempts).toHaveLength(1);
  });

  test("moodle.import runs rows through the Moodle pipeline; bad rows fail with their error", async () => {
    const hook = await fake();
    const f = await ferry([]);
    const row = {
      id: 9001, eventname: "\\core\\event\\course_viewed", component: "core", action: "viewed", target: "course", objecttable: null, objectid: null,
      crud: "r", edulevel: 2, contextid: 14, contextlevel: 50, contextinstanceid: 2, userid: 5, courseid: 2, relateduserid: null, anonymous: 0,
      other: null, timecreated: 1761056831, origin: "web", ip: null, realuserid: null,
    };
    const job = await json(submit(f, { type: "moodle.import", items: [row, { nonsense: true }], webhook_url: hook.url }));
    const [req] = await hook.waitForRequests(1);
    const body = JSON.parse(req!.body);
    expect(body.job_id).toBe(job.job_id);
    expect(body).toMatchObject({ status: "partially_completed", completed_lots: 1, failed_lots: 1 });
    const res = await json(f.request("GET", `/api/v1/jobs/${job.job_id}/results`, { token: TOKEN }));
    expect(res.results[0].status).toBe("completed");
    expect(res.results[1].status).toBe("failed");
    expect(res.results[1].error.length).toBeGreaterThan(5);
  });
});
