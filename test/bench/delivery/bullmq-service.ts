// The comparison service for the delivery bench: what a user would otherwise build with
// BullMQ + Redis — POST /api/v1/events (token, JSON, an id) → queue.add (202 once Redis has it),
// a worker (concurrency 64) that signs exactly like ferry (X-Signature + Standard Webhooks),
// POSTs to the subscriber with a timeout, keeps the first bytes of the answer as the job's
// return value (its attempt record) and retries 5xx with exponential backoff.
// Usage: bun test/bench/delivery/bullmq-service.ts <port> <redis port> <subscriber url> <secret>
import { createHmac } from "node:crypto";
import { Queue, Worker } from "bullmq";

const [port, redisPort, target, secret] = process.argv.slice(2);
const connection = { host: "127.0.0.1", port: Number(redisPort), maxRetriesPerRequest: null };
const queue = new Queue("deliveries", { connection });
const key = secret!.startsWith("whsec_") ? Buffer.from(secret!.slice(6), "base64") : Buffer.from(secret!);
const TOKEN = "Bearer bench-token";

const worker = new Worker(
  "deliveries",
  async (job) => {
    const body = job.data.body as string;
    const ts = Math.floor(Date.now() / 1000);
    const t0 = performance.now();
    const res = await fetch(target!, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "bullmq-bench",
        "x-event-name": job.data.name,
        "x-event-id": job.data.id,
        "x-delivery-attempt": String(job.attemptsMade + 1),
        "x-signature": createHmac("sha256", secret!).update(body).digest("hex"),
        "webhook-id": job.id!,
        "webhook-timestamp": String(ts),
        "webhook-signature": "v1," + createHmac("sha256", key).update(`${job.id}.${ts}.${body}`).digest("base64"),
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(10_000),
    });
    const response = (await res.text()).slice(0, 1024);
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new Error(`HTTP ${res.status}`);
    return { status: res.status, duration_ms: performance.now() - t0, response };
  },
  { connection, concurrency: 64 },
);
worker.on("error", (err) => console.error("worker error", err));

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(port),
  async fetch(req) {
    const url = new URL(req.url);
    if (req.method === "GET") return Response.json({ status: "ok" });
    if (url.pathname !== "/api/v1/events") return new Response("not found", { status: 404 });
    if (req.headers.get("authorization") !== TOKEN) return Response.json({ error: "unauthorized" }, { status: 401 });
    let input: any;
    try {
      input = await req.json();
    } catch {
      return Response.json({ error: "invalid json" }, { status: 400 });
    }
    if (typeof input?.name !== "string") return Response.json({ error: "name required" }, { status: 422 });
    const id = input.id ?? `evt_${Bun.randomUUIDv7()}`;
    const envelope = JSON.stringify({ name: input.name, context: input.context ?? {}, data: input.data ?? {}, timestamp: new Date().toISOString(), id });
    // jobId = event id: the same id again adds nothing (idempotent publish).
    await queue.add("deliver", { id, name: input.name, body: envelope }, { jobId: `msg_${id}`, attempts: 4, backoff: { type: "exponential", delay: 1000 } });
    return Response.json({ id }, { status: 202 });
  },
});
console.log(`listening ${port}`);
