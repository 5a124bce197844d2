import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { Database } from "../../src/store/sqlite";
import { FakeSubscriber } from "../fakes/subscriber";
import { freePort, jsonRequest, spawnFerry, tempDir, waitFor, writeConfig, type ChildFerry } from "../helpers/ferry";
import { sub, TOKEN } from "./helpers";

const rx = await FakeSubscriber.start({
  reply: async () => {
    await Bun.sleep(15); // deliveries take a moment, so the kill lands mid-flight
    return new Response("ok");
  },
});
const children: ChildFerry[] = [];
afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null) await c.kill("SIGKILL");
  await rx.stop();
});

test("SIGKILL during delivery: after a restart every accepted event is delivered at least once; SIGHUP adds a subscriber", async () => {
  const dir = tempDir();
  const port = freePort();
  const config = {
    server: { port },
    auth: { api_tokens: [TOKEN] },
    queue: { lease: "1s", maintenance_cron: "* * * * * *" },
    webhooks: { allow_private_targets: true, subscribers: [sub("s", rx.url, { concurrency: 4 })] },
  };
  const configPath = writeConfig(dir, config);
  let child = await spawnFerry(configPath, port);
  children.push(child);
  const accepted: string[] = [];
  const N = 300;
  let killed = false;
  const publishing = (async () => {
    for (let i = 0; i < N && !killed; i += 10) {
      const batch = Array.from({ length: 10 }, (_, k) => `crash_${i + k}`);
      const results = await Promise.allSettled(
        batch.map((id) => jsonRequest(child.url, "POST", "/api/v1/events", { token: TOKEN, body: { id, name: "attempt.submitted", data: { n: id } } })),
      );
      results.forEach((r, k) => {
        if (r.status === "fulfilled" && r.value.status === 202) accepted.push(batch[k]!);
      });
    }
  })();
  await waitFor(() => rx.requests.length >= 40, 15_000, "deliveries in flight");
  killed = true;
  expect(await child.kill("SIGKILL")).not.toBe(0);
  await publishing;
  const beforeRestart = new Set(rx.requests.map((r) => r.headers["x-event-id"]));
  expect(accepted.length).toBeGreaterThan(beforeRestart.size); // the kill left work undone

  child = await spawnFerry(configPath, port);
  children.push(child);
  await waitFor(
    () => {
      const got = new Set(rx.requests.map((r) => r.headers["x-event-id"]));
      return accepted.every((id) => got.has(id));
    },
    20_000,
    "every accepted event delivered",
  );
  // Nothing accepted is lost, nothing unaccepted is invented, each delivery row ends delivered.
  await waitFor(() => {
    const db = new Database(`${dir}/ferry.db`, { readonly: true });
    try {
      return db.prepare("SELECT count(*) FROM webhook_deliveries WHERE status != 'delivered'").pluck().get() === 0;
    } finally {
      db.close();
    }
  }, 10_000, "all deliveries marked delivered");
  const got = new Set(rx.requests.map((r) => r.headers["x-event-id"]));
  for (const id of got) expect(id!.startsWith("crash_")).toBe(true);
  const byId = new Map<string, string>();
  for (const r of rx.requests) {
    const prev = byId.get(r.headers["x-event-id"]!);
    if (prev) expect(r.body).toBe(prev); // a redelivery after the crash carries the same bytes
    byId.set(r.headers["x-event-id"]!, r.body);
  }

  // SIGHUP (real signal) applies a new subscriber without a restart.
  const rx2 = await FakeSubscriber.start();
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(await Bun.file(configPath).text()), webhooks: { allow_private_targets: true, subscribers: [sub("s", rx.url), sub("new", rx2.url)] } }));
  child.proc.kill("SIGHUP");
  await waitFor(async () => {
    const p = (await (await jsonRequest(child.url, "GET", "/api/v1/plugins", { token: TOKEN })).json()) as any;
    return p.active_count === 2;
  }, 5000, "reloaded config");
  await jsonRequest(child.url, "POST", "/api/v1/events", { token: TOKEN, body: { id: "after_hup", name: "attempt.started", data: {} } });
  const [req] = await rx2.waitForRequests(1);
  expect(req!.headers["x-event-id"]).toBe("after_hup");
  await rx2.stop();
  expect(await child.kill("SIGTERM")).toBe(0);
}, 60_000);
