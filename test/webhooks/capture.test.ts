import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { FakeSubscriber } from "../fakes/subscriber";
import { freePort, jsonRequest, spawnFerry, tempDir, waitFor, writeConfig, type ChildFerry } from "../helpers/ferry";
import { delivery, deliveryIds, perTestResources, publish, sub, TOKEN, waitStatus } from "./helpers";

const { fake, ferry } = perTestResources();
const MB = 1024 * 1024;

/** A body that never ends (chunked, no Content-Length); counts what was pulled from it. */
function endless(counter: { bytes: number }): Response {
  const chunk = new Uint8Array(64 * 1024).fill(120);
  return new Response(
    new ReadableStream({
      pull(c) {
        counter.bytes += chunk.length;
        c.enqueue(chunk);
      },
    }),
    { status: 200, headers: { "content-type": "text/plain" } },
  );
}

/** 100 MB announced by Content-Length, produced lazily so the test process stays small too. */
function huge(counter: { bytes: number }): Response {
  const chunk = new Uint8Array(MB).fill(121);
  let sent = 0;
  return new Response(
    new ReadableStream({
      pull(c) {
        if (sent >= 100) return c.close();
        sent++;
        counter.bytes += chunk.length;
        c.enqueue(chunk);
      },
    }),
    { status: 200, headers: { "content-length": String(100 * MB) } },
  );
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

const children: ChildFerry[] = [];
afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null) await c.kill("SIGKILL");
});

test("endless chunked and 100 MB answers (subscribers and a job completion webhook): at most response_capture bytes are read, RSS stays within +100 MB", async () => {
  const pulled = { bytes: 0 };
  const rx = await fake({
    reply: (req) => (req.path === "/big" ? huge(pulled) : endless(pulled)),
  });
  const base = `http://127.0.0.1:${rx.port}`;
  const dir = tempDir();
  const port = freePort();
  const subs = [0, 1, 2, 3, 4].map((i) => sub(`endless${i}`, `${base}/endless${i}`, { events: ["attempt.*"] })).concat([sub("big", `${base}/big`, { events: ["attempt.*"] })]);
  const jobsSecret = "jobs-secret-for-capture";
  const configPath = writeConfig(dir, {
    server: { port },
    auth: { api_tokens: [TOKEN] },
    jobs: { secret: jobsSecret },
    webhooks: { allow_private_targets: true, response_capture: 1024, subscribers: subs },
  });
  const child = await spawnFerry(configPath, port);
  children.push(child);
  const pid = child.proc.pid;
  await jsonRequest(child.url, "GET", "/health");
  const before = rssOf(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 25);
  try {
    for (let i = 0; i < 4; i++) {
      const r = await jsonRequest(child.url, "POST", "/api/v1/events", { token: TOKEN, body: { id: `cap_${i}`, name: "attempt.started", data: { i } } });
      expect(r.status).toBe(202);
    }
    // A job whose completion webhook URL (chosen by the client) answers endlessly.
    const raw = JSON.stringify({ type: "webhooks.replay", items: ["msg_unknown"], webhook_url: `${base}/endless-job` });
    const j = await jsonRequest(child.url, "POST", "/api/v1/jobs", { body: raw, headers: { "x-signature": createHmac("sha256", jobsSecret).update(raw).digest("hex") } });
    expect(j.status).toBe(202);
    const { job_id } = (await j.json()) as any;
    // 4 events × 6 subscribers + 1 job webhook, all delivered with a 1 KB capture.
    await waitFor(async () => {
      const m = (await (await jsonRequest(child.url, "GET", "/api/v1/webhook-metrics?hours=1", { token: TOKEN })).json()) as any;
      return m.total.delivered === 25;
    }, 30_000, "25 deliveries delivered");
    const st = (await (await jsonRequest(child.url, "GET", `/api/v1/jobs/${job_id}/status`, { token: TOKEN })).json()) as any;
    const d = (await (await jsonRequest(child.url, "GET", `/api/v1/deliveries/${st.webhook_delivery_id}`, { token: TOKEN })).json()) as any;
    expect(d.attempts[0]).toMatchObject({ status_code: 200, outcome: "delivered" });
    expect(d.attempts[0].response).toBe("x".repeat(1024));
    await Bun.sleep(300);
  } finally {
    clearInterval(sampler);
  }
  const growth = peak - before;
  console.log(`ferry RSS ${Math.round(before / MB)} MB → peak ${Math.round(peak / MB)} MB (+${Math.round(growth / MB)} MB); receiver produced ${Math.round(pulled.bytes / MB)} MB before ferry hung up`);
  expect(growth).toBeLessThan(100 * MB);
  // ferry hung up early: a few MB per answer (socket buffers), not the 100 MB body or an endless one.
  expect(pulled.bytes).toBeLessThan(25 * 10 * MB);
  expect(await child.kill("SIGTERM")).toBe(0);
}, 90_000);

test("configured secrets echoed by a receiver are scrubbed from the captured response", async () => {
  const rx = await fake({ reply: (req) => new Response(JSON.stringify({ error: "denied", echoed: req.headers, body: req.body }), { status: 401 }) });
  const secret = "whsec_" + Buffer.from("capture-test-signing-key-32byte!").toString("base64");
  const f = await ferry([sub("echo", rx.url, { api_key: "api-key-0123456789", secret, previous_secrets: ["old-secret-value"], headers: { "X-Api-Token": "custom-token-abcdef" } })], {
    webhooks: { response_capture: 4096 },
  });
  await publish(f, { id: "evt_echo", name: "attempt.started", data: { note: "old-secret-value" } });
  const [id] = deliveryIds(f, "evt_echo");
  await waitStatus(f, id!, "failed");
  const d = await delivery(f, id!);
  const captured: string = d.attempts[0].response;
  expect(captured).toContain('"error":"denied"');
  expect(captured).toContain("Bearer [redacted]");
  for (const s of ["api-key-0123456789", "custom-token-abcdef", "old-secret-value", secret]) expect(JSON.stringify(d.attempts)).not.toContain(s);
  // Cut by the capture limit in the middle of a secret: still no part of it at the end.
  const g = await ferry([sub("echo2", rx.url, { api_key: "api-key-0123456789" })], { webhooks: { response_capture: 60 } });
  rx.setDefault((req) => new Response("x".repeat(45) + req.headers.authorization + " tail", { status: 500 }));
  await publish(g, { id: "evt_cut", name: "attempt.started", data: {} });
  const [cut] = deliveryIds(g, "evt_cut");
  await waitStatus(g, cut!, "retrying");
  const resp: string = (await delivery(g, cut!)).attempts[0].response;
  expect(resp).toBe("x".repeat(45) + "Bearer [redacte");
  expect(resp).not.toContain("api-key");
});
