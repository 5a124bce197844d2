// Issue 10, finding 3: a legacy body signature covers only the items, so its webhook_url is honoured
// only for jobs.allowed_webhook_hosts; any signed request repeated within jobs.replay_window answers
// the first job.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { waitFor, type TestFerry } from "../helpers/ferry";
import { ManualClock, perTestResources, TOKEN } from "../webhooks/helpers";

const SECRET = "jobs-shared-secret";
const { fake, ferry } = perTestResources({ jobs: { secret: SECRET } });
const sign = (raw: string) => createHmac("sha256", SECRET).update(raw).digest("hex");

/** Signed with X-Signature over the whole raw body. */
function submit(f: TestFerry, body: Record<string, unknown>): Promise<Response> {
  const raw = JSON.stringify(body);
  return f.request("POST", "/api/v1/jobs", { body: raw, headers: { "x-signature": sign(raw) } });
}
/** Signed the older way: body field `signature` over the items only. */
function submitLegacy(f: TestFerry, body: Record<string, unknown>): Promise<Response> {
  const items = (body.lots ?? body.items) as unknown[];
  return f.request("POST", "/api/v1/jobs", { body: { ...body, signature: sign(JSON.stringify(items)) } });
}
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();
const status = (f: TestFerry, id: string) => json(f.request("GET", `/api/v1/jobs/${id}/status`, { token: TOKEN }));
const finished = (f: TestFerry, id: string) => waitFor(async () => ((await status(f, id)).finished_at ? status(f, id) : null), 10_000, `job ${id} to finish`);
const jobCount = (f: TestFerry) => (f.daemon.store.db.prepare("SELECT count(*) AS n FROM api_jobs").get() as { n: number }).n;

describe("legacy body signature and webhook_url", () => {
  test("a webhook_url whose host is not in jobs.allowed_webhook_hosts is dropped: the job runs, the answer says why", async () => {
    const hook = await fake();
    const f = await ferry([]);
    const r = await submitLegacy(f, { type: "webhooks.replay", lots: ["msg_a"], webhook_url: hook.url });
    expect(r.status).toBe(202);
    const body = await json(r);
    expect(body.webhook.status).toBe("dropped");
    expect(body.webhook.reason).toContain("jobs.allowed_webhook_hosts");
    expect(body.webhook.reason).toContain(new URL(hook.url).host);
    const st = await finished(f, body.job_id);
    expect(st.status).toBe("failed"); // msg_a does not exist: the job ran
    expect(st.webhook_delivery_id).toBeUndefined();
    await Bun.sleep(200);
    expect(hook.requests).toHaveLength(0);
  });

  test("an allowed host (host or host:port form) keeps the webhook; another port of it does not", async () => {
    const hook = await fake();
    const other = await fake();
    const port = new URL(hook.url).port;
    const f = await ferry([], { config: { jobs: { secret: SECRET, allowed_webhook_hosts: [`127.0.0.1:${port}`] } } });
    const kept = await json(submitLegacy(f, { type: "webhooks.replay", lots: ["msg_b"], webhook_url: hook.url + "/done" }));
    expect(kept.webhook).toBeUndefined();
    const [req] = await hook.waitForRequests(1);
    expect(JSON.parse(req!.body)).toMatchObject({ job_id: kept.job_id, status: "failed" });
    const dropped = await json(submitLegacy(f, { type: "webhooks.replay", lots: ["msg_c"], webhook_url: other.url }));
    expect(dropped.webhook.status).toBe("dropped");

    const g = await ferry([], { config: { jobs: { secret: SECRET, allowed_webhook_hosts: ["127.0.0.1"] } } });
    const any = await json(submitLegacy(g, { type: "webhooks.replay", lots: ["msg_d"], webhook_url: other.url }));
    expect(any.webhook).toBeUndefined();
    await other.waitForRequests(1);
  });

  test("an X-Signature over the whole body may carry any webhook_url", async () => {
    const hook = await fake();
    const f = await ferry([]);
    const r = await json(submit(f, { type: "webhooks.replay", items: ["msg_e"], webhook_url: hook.url }));
    expect(r.webhook).toBeUndefined();
    const [req] = await hook.waitForRequests(1);
    expect(JSON.parse(req!.body).job_id).toBe(r.job_id);
  });

  test("config: allow-list entries are checked", async () => {
    const { parseConfig } = await import("../../src/config/load");
    expect(() => parseConfig({ jobs: { allowed_webhook_hosts: ["https://hooks.example.com/x"] } })).toThrow("jobs.allowed_webhook_hosts[0]: expected a host name");
    expect(() => parseConfig({ jobs: { allowed_targets: ["10.0.0.0/99"] } })).toThrow("jobs.allowed_targets[0]: bad CIDR prefix");
    const c = parseConfig({ jobs: { allowed_webhook_hosts: ["hooks.example.com", "hooks.example.com:8443"], replay_window: "1h" } }).jobs;
    expect(c.replay_window).toBe(3_600_000);
    expect(parseConfig({}).jobs).toMatchObject({ allowed_webhook_hosts: [], allowed_targets: [], replay_window: 86_400_000 });
  });
});

describe("replay window", () => {
  test("an X-Signature request repeated identically answers the first job; a changed body is a new job", async () => {
    const f = await ferry([]);
    const body = { type: "webhooks.replay", items: ["msg_r1"] };
    const first = await json(submit(f, body));
    await finished(f, first.job_id);
    const again = await submit(f, body);
    expect(again.status).toBe(202);
    const a = await json(again);
    expect(a).toMatchObject({ job_id: first.job_id, duplicate: true, status: "failed", total_lots: 1 });
    expect(jobCount(f)).toBe(1);
    // Many identical requests at once: still one job.
    const burst = await Promise.all(Array.from({ length: 8 }, () => json(submit(f, { type: "webhooks.replay", items: ["msg_r2"] }))));
    expect(new Set(burst.map((b) => b.job_id)).size).toBe(1);
    expect(jobCount(f)).toBe(2);
    const changed = await json(submit(f, { ...body, options: { run: 2 } }));
    expect(changed.job_id).not.toBe(first.job_id);
    expect(changed.duplicate).toBeUndefined();
  });

  test("a captured legacy request re-aimed or re-typed answers the first job", async () => {
    const f = await ferry([]);
    const lots = ["msg_l1", "msg_l2"];
    const first = await json(submitLegacy(f, { type: "webhooks.replay", lots }));
    const reaimed = await json(submitLegacy(f, { type: "webhooks.replay", lots, webhook_url: "https://attacker.example/x" }));
    expect(reaimed).toMatchObject({ job_id: first.job_id, duplicate: true });
    const retyped = await json(submitLegacy(f, { type: "moodle.import", lots, options: { x: 1 } }));
    expect(retyped).toMatchObject({ job_id: first.job_id, duplicate: true });
    // The same items signed in Python's json.dumps style are the same signed content.
    const python = await json(f.request("POST", "/api/v1/jobs", { body: { type: "webhooks.replay", lots, signature: sign('["msg_l1", "msg_l2"]') } }));
    expect(python.job_id).toBe(first.job_id);
    expect(jobCount(f)).toBe(1);
  });

  test("after jobs.replay_window the same request makes a new job", async () => {
    const clock = new ManualClock();
    const f = await ferry([], { clock, config: { jobs: { secret: SECRET, replay_window: "1h" } } });
    const body = { type: "webhooks.replay", items: ["msg_w"] };
    const first = await json(submit(f, body));
    clock.advance(59 * 60_000);
    expect((await json(submit(f, body))).job_id).toBe(first.job_id);
    clock.advance(2 * 60_000);
    const later = await json(submit(f, body));
    expect(later.job_id).not.toBe(first.job_id);
    expect(later.duplicate).toBeUndefined();
    expect(jobCount(f)).toBe(2);
    // The table keeps only the window.
    expect((f.daemon.store.db.prepare("SELECT count(*) AS n FROM api_job_requests").get() as { n: number }).n).toBe(1);
  });
});
