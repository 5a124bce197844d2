import { afterAll, describe, expect, test } from "bun:test";
import { startFerry } from "../helpers/ferry";

const ferry = await startFerry({ server: { body_limit: "2kb" }, auth: { api_tokens: ["test-api-token"] } });
afterAll(() => ferry.stop());

async function envelope(r: Response) {
  const body = (await r.json()) as { error: { code: string; message: string; details: unknown } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "details", "message"]);
  return body.error;
}

describe("HTTP surface", () => {
  test("unknown route → 404 in the error envelope", async () => {
    const r = await ferry.request("GET", "/no/such/route");
    expect(r.status).toBe(404);
    expect((await envelope(r)).message).toBe("no route for GET /no/such/route");
  });

  test("a body over the limit → 413 (by Content-Length and by the bytes actually sent)", async () => {
    const big = JSON.stringify({ pad: "x".repeat(4096) });
    const r = await ferry.request("POST", "/api/v1/events", { body: big, token: "test-api-token" });
    expect(r.status).toBe(413);
    expect((await envelope(r)).code).toBe("payload_too_large");
    // Chunked upload: no Content-Length, so the limit is enforced on the bytes read.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const r2 = await fetch(ferry.url + "/api/v1/events", {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json", authorization: "Bearer test-api-token" },
    });
    expect(r2.status).toBe(413);
  });

  test("a non-JSON content type → 415; malformed JSON → 400 naming the problem", async () => {
    const r = await ferry.request("POST", "/api/v1/events", { body: "a=b", token: "test-api-token", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(r.status).toBe(415);
    expect((await envelope(r)).message).toContain("application/json");
    const r2 = await ferry.request("POST", "/api/v1/events", { body: "{nope", token: "test-api-token" });
    expect(r2.status).toBe(400);
    expect((await envelope(r2)).code).toBe("invalid_json");
  });

  test("admin routes need the bearer token: missing or wrong → 401", async () => {
    const none = await ferry.request("GET", "/api/v1/config");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect((await envelope(none)).message).toContain("missing credentials");
    const wrong = await ferry.request("GET", "/api/v1/config", { token: "test-api-tokem" });
    expect(wrong.status).toBe(401);
    const ok = await ferry.request("GET", "/api/v1/config", { token: "test-api-token" });
    expect(ok.status).toBe(200);
    const config = (await ok.json()) as any;
    expect(config.auth.api_tokens).toEqual(["***"]); // secrets never in answers
    expect(JSON.stringify(config)).not.toContain("test-api-token");
  });

  test("bad query and path values → 422 naming the field", async () => {
    const r = await ferry.request("GET", "/api/v1/queue/jobs?status=sleeping", { token: "test-api-token" });
    expect(r.status).toBe(422);
    const e = await envelope(r);
    expect(e.message).toStartWith("invalid query: status:");
    expect((e.details as Array<{ path: string }>)[0]!.path).toBe("status");
    const r2 = await ferry.request("GET", "/api/v1/queue/jobs/abc", { token: "test-api-token" });
    expect(r2.status).toBe(422);
    expect((await envelope(r2)).message).toStartWith("invalid path: id:");
  });

  test("request ids: a sane incoming one is echoed, otherwise one is made", async () => {
    const r = await ferry.request("GET", "/health", { headers: { "x-request-id": "abc-123" } });
    expect(r.headers.get("x-request-id")).toBe("abc-123");
    const r2 = await ferry.request("GET", "/health", { headers: { "x-request-id": "bad id with spaces <script>" } });
    expect(r2.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("/health and /api/v1/health report version, database, queue and scheduler", async () => {
    for (const path of ["/health", "/api/v1/health"]) {
      const r = await ferry.request("GET", path);
      expect(r.status).toBe(200);
      const h = (await r.json()) as any;
      expect(h.status).toBeOneOf(["ok", "degraded"]);
      expect(h.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(h.database.ok).toBe(true);
      expect(typeof h.uptime_seconds).toBe("number");
      expect(h.queue).toHaveProperty("depth");
      expect(h.scheduler.map((s: any) => s.name)).toEqual(expect.arrayContaining(["queue.rescuer", "queue.cleaner", "store.checkpoint"]));
    }
  });

  test("/metrics is Prometheus text with request counts by route and status and the latency histogram", async () => {
    await ferry.request("GET", "/no/such/route");
    await ferry.request("GET", "/health");
    const text = await (await ferry.request("GET", "/metrics")).text();
    expect(text).toContain("# TYPE ferry_http_requests_total counter");
    expect(text).toMatch(/ferry_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
    expect(text).toMatch(/ferry_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    expect(text).toMatch(/ferry_http_request_duration_seconds_bucket\{method="GET",route="\/health",le="\+Inf"\} \d+/);
    expect(text).toContain("# TYPE ferry_queue_jobs gauge");
    expect(text).toContain("# TYPE ferry_job_outcomes_total counter");
  });
});

test("ops: dead jobs are listed and replayed over HTTP", async () => {
  const { queue, store } = ferry.daemon.ctx;
  let calls = 0;
  queue.register("ops.test", { maxAttempts: 1, handler: () => { if (++calls === 1) throw new Error("first run fails"); return "second ok"; } });
  const { id } = await store.write((db) => queue.enqueue(db, { kind: "ops.test", payload: { a: 1 } }));
  queue.wake("ops.test");
  const token = "test-api-token";
  let dead: any;
  for (let i = 0; i < 200 && !dead; i++) {
    dead = ((await (await ferry.request("GET", "/api/v1/queue/jobs?status=dead", { token })).json()) as any).jobs.find((j: any) => j.id === id);
    if (!dead) await Bun.sleep(10);
  }
  expect(dead.last_error).toBe("first run fails");
  const replayed = await ferry.request("POST", `/api/v1/queue/jobs/${id}/replay`, { token });
  expect(replayed.status).toBe(200);
  let job: any;
  for (let i = 0; i < 200; i++) {
    job = await (await ferry.request("GET", `/api/v1/queue/jobs/${id}`, { token })).json();
    if (job.status === "done") break;
    await Bun.sleep(10);
  }
  expect(job.status).toBe("done");
  expect(job.result).toBe("second ok");
  const again = await ferry.request("POST", `/api/v1/queue/jobs/${id}/replay`, { token });
  expect(again.status).toBe(409);
  expect((await ferry.request("POST", `/api/v1/queue/jobs/999999/replay`, { token })).status).toBe(404);
});

test("/health answers 503 when the database is unusable", async () => {
  const other = await startFerry();
  other.daemon.store.db.close();
  const r = await other.request("GET", "/health");
  expect(r.status).toBe(503);
  const h = (await r.json()) as any;
  expect(h.status).toBe("unavailable");
  expect(h.database.ok).toBe(false);
  expect(h.database.error).toContain("not open");
  other.daemon.server?.stop(true);
});

test("ops: every dead job of a kind is replayed at once", async () => {
  const { queue, store } = ferry.daemon.ctx;
  let healthy = false;
  let runs = 0;
  queue.register("ops.bulk", {
    maxAttempts: 1,
    handler: () => {
      runs++;
      if (!healthy) throw new Error("downstream is down");
    },
  });
  const ids = await store.write((db) => [1, 2, 3].map((n) => queue.enqueue(db, { kind: "ops.bulk", payload: { n } }).id));
  queue.wake("ops.bulk");
  const status = (id: number) => store.db.prepare("SELECT status FROM jobs WHERE id = ?").pluck().get(id);
  for (let i = 0; i < 300 && !ids.every((id) => status(id) === "dead"); i++) await Bun.sleep(10);
  expect(ids.map(status)).toEqual(["dead", "dead", "dead"]);

  const token = "test-api-token";
  expect((await ferry.request("POST", "/api/v1/queue/replay", { body: {}, token })).status).toBe(422);
  healthy = true;
  const r = await ferry.request("POST", "/api/v1/queue/replay", { body: { kind: "ops.bulk" }, token });
  expect(r.status).toBe(200);
  expect(((await r.json()) as any).replayed.sort()).toEqual([...ids].sort());
  for (let i = 0; i < 300 && !ids.every((id) => status(id) === "done"); i++) await Bun.sleep(10);
  expect(ids.map(status)).toEqual(["done", "done", "done"]);
  expect(runs).toBe(6);
});

test("GET /api/v1/config masks tokens, secrets, custom headers and URL credentials", async () => {
  const other = await startFerry({
    auth: { api_tokens: ["cfg-token"] },
    webhooks: {
      allow_private_targets: true,
      subscribers: [{ id: "s1", url: "https://user:pa55word@hooks.example.com/in", api_key: "key-123", secret: "whsec_c2VjcmV0", headers: { Authorization: "Bearer hdr-456" } }],
    },
  });
  try {
    const text = await (await other.request("GET", "/api/v1/config", { token: "cfg-token" })).text();
    for (const secret of ["cfg-token", "pa55word", "key-123", "whsec_c2VjcmV0", "hdr-456"]) expect(text).not.toContain(secret);
    const sub = JSON.parse(text).webhooks.subscribers[0];
    expect(sub.url).toBe("https://hooks.example.com/in");
    expect(sub.headers.Authorization).toBe("***");
  } finally {
    await other.stop();
  }
});

test("ops replay refuses webhook delivery jobs and points to the delivery replay routes", async () => {
  const r = await ferry.request("POST", "/api/v1/queue/replay", { body: { kind: "webhook:crm" }, token: "test-api-token" });
  expect(r.status).toBe(409);
  expect((await r.json()) as any).toMatchObject({ error: { code: "use_delivery_replay" } });
});
