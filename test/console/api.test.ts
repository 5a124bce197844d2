// The console's server side without a browser: the static files and their security headers,
// the size budget, the embedded copy in the compiled binary, and the read-only console API.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, consoleSize } from "../../src/modules/console/assets";
import { FakeSubscriber } from "../fakes/subscriber";
import { ensureBinary, freePort, ROOT, spawnFerry, startFerry, tempDir, waitFor, type TestFerry } from "../helpers/ferry";

const TOKEN = "console-api-token";
const UI_DIR = join(ROOT, "src/modules/console/ui");
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function ferry(subscribers: unknown[] = []): Promise<TestFerry> {
  const f = await startFerry({ auth: { api_tokens: [TOKEN] }, moodle: { tokens: ["console-moodle"] }, webhooks: { allow_private_targets: true, subscribers } });
  cleanups.push(() => f.stop());
  return f;
}
const get = async (f: TestFerry, path: string) => {
  const r = await f.request("GET", path, { token: TOKEN });
  return { status: r.status, body: (await r.json()) as any };
};
const hook = (id: string, url: string) => ({ id, url, events: ["*"], timeout_ms: 2000, retry: { max_attempts: 1 } });

describe("console files", () => {
  test("/ui and every asset: strict CSP, no framing, no sniffing; unknown files 404", async () => {
    const f = await ferry();
    const names = ["", ...Object.keys(ASSETS).filter((n) => n !== "index.html")];
    for (const name of names) {
      const r = await fetch(`${f.url}/ui${name ? `/${name}` : ""}`);
      expect(r.status).toBe(200);
      const csp = r.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("set-cookie")).toBeNull();
      if (name.endsWith(".js")) expect(r.headers.get("content-type")).toStartWith("text/javascript");
      await r.arrayBuffer();
    }
    expect((await fetch(`${f.url}/ui/`)).status).toBe(200);
    const missing = await fetch(`${f.url}/ui/secrets.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe("not_found");
  });

  test("gzip when the browser accepts it, plain text otherwise", async () => {
    const f = await ferry();
    const source = readFileSync(join(UI_DIR, "deliveries.ui.js"), "utf8");
    const plain = await fetch(`${f.url}/ui/deliveries.js`, { headers: { "accept-encoding": "identity" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toBe(source);
    const zipped = await fetch(`${f.url}/ui/deliveries.js`, { headers: { "accept-encoding": "gzip, deflate" }, decompress: false } as RequestInit);
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toBe("accept-encoding");
    const raw = new Uint8Array(await zipped.arrayBuffer());
    expect(raw.byteLength).toBeLessThan(source.length / 2);
    expect(new TextDecoder().decode(Bun.gunzipSync(raw))).toBe(source);
  });

  test("the shell holds no data and no inline code; the whole console is under 150 KB", async () => {
    const f = await ferry([hook("shell-sub", "http://127.0.0.1:9/hook")]);
    const html = await (await fetch(`${f.url}/ui`)).text();
    expect(html).not.toContain("shell-sub");
    expect(html).not.toContain("0.1.0");
    for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toContain('src="/ui/');
    expect(html).not.toMatch(/<script[^>]*>[^<]+<\/script>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    // Every browser file on disk is served (nothing forgotten in assets.ts).
    const onDisk = readdirSync(UI_DIR).map((n) => n.replace(/\.ui\.js$/, ".js")).sort();
    expect(Object.keys(ASSETS).sort()).toEqual(onDisk);
    let served = 0;
    for (const name of Object.keys(ASSETS)) served += (await (await fetch(`${f.url}/ui/${name}`)).arrayBuffer()).byteLength;
    expect(served).toBe(consoleSize());
    expect(served).toBeLessThan(150 * 1024);
    console.log(`console size: ${served} bytes in ${Object.keys(ASSETS).length} files`);
  });

  test("browser code never turns data into markup (no innerHTML, insertAdjacentHTML, document.write, eval)", () => {
    for (const name of readdirSync(UI_DIR).filter((n) => n.endsWith(".js"))) {
      const text = readFileSync(join(UI_DIR, name), "utf8");
      expect({ name, bad: text.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/g) }).toEqual({ name, bad: null });
    }
  });

  test("the compiled binary serves the embedded console from an empty directory", async () => {
    const dir = tempDir("ferry-ui-bin-");
    const exe = join(dir, "ferry");
    copyFileSync(await ensureBinary(), exe);
    const port = freePort();
    writeFileSync(join(dir, "config.yaml"), `server: { port: ${port} }\nstorage: { path: ./data/ferry.db }\nlog: { level: warn }\n`);
    const child = await spawnFerry(join(dir, "config.yaml"), port, { binary: exe, cwd: dir, env: { PATH: "/usr/bin:/bin" } });
    try {
      for (const [file, served] of [["index.html", ""], ["app.ui.js", "/app.js"], ["console.css", "/console.css"], ["deliveries.ui.js", "/deliveries.js"]] as const) {
        const r = await fetch(`${child.url}/ui${served}`);
        expect(r.status).toBe(200);
        expect(await r.text()).toBe(readFileSync(join(UI_DIR, file), "utf8"));
      }
    } finally {
      await child.kill("SIGTERM");
    }
  });
});

describe("console API", () => {
  test("needs an API token (a Moodle token is not enough); bad queries are 422 naming the field", async () => {
    const f = await ferry();
    for (const path of ["/api/v1/console/deliveries", "/api/v1/console/queue"]) {
      expect((await fetch(f.url + path)).status).toBe(401);
      expect((await f.request("GET", path, { token: "console-moodle" })).status).toBe(401);
      expect((await f.request("GET", path, { token: TOKEN })).status).toBe(200);
    }
    for (const [query, field] of [["status=lost", "status"], ["limit=501", "limit"], ["before=xyz", "before"], ["since=yesterday", "since"], ["colour=red", "colour"]]) {
      const r = await get(f, `/api/v1/console/deliveries?${query}`);
      expect(r.status).toBe(422);
      expect(r.body.error.message).toContain(field!);
    }
    expect((await get(f, "/api/v1/console/queue?minutes=0")).status).toBe(422);
  });

  test("deliveries of every status, filtered by subscriber, status and time, paged without gaps or repeats", async () => {
    const ok = await FakeSubscriber.start();
    const bad = await FakeSubscriber.start({ reply: { status: 400, body: "no" } });
    cleanups.push(() => ok.stop(), () => bad.stop());
    const f = await ferry([hook("ok", ok.url), hook("bad", bad.url)]);
    for (let i = 0; i < 3; i++) {
      const r = await f.request("POST", "/api/v1/events", { token: TOKEN, body: { id: `evt-${i}`, name: "attempt.started", data: { i } } });
      expect(r.status).toBe(202);
    }
    await waitFor(async () => (await get(f, "/api/v1/console/deliveries?status=delivered")).body.count === 3 && (await get(f, "/api/v1/console/deliveries?status=failed")).body.count === 3, 15_000, "six finished deliveries");
    const all = (await get(f, "/api/v1/console/deliveries")).body;
    expect(all.count).toBe(6);
    expect(new Set(all.deliveries.map((d: any) => d.status))).toEqual(new Set(["delivered", "failed"]));
    const times = all.deliveries.map((d: any) => Date.parse(d.updated_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const failed = (await get(f, "/api/v1/console/deliveries?status=failed&subscriber_id=bad")).body;
    expect(failed.deliveries.map((d: any) => d.event_id).sort()).toEqual(["evt-0", "evt-1", "evt-2"]);
    expect(failed.deliveries[0]).toMatchObject({ subscriber_id: "bad", status: "failed", attempts: 1, max_attempts: 1, last_status: 400, event_name: "attempt.started" });
    expect((await get(f, "/api/v1/console/deliveries?subscriber_id=ok&status=failed")).body.count).toBe(0);
    expect((await get(f, "/api/v1/console/deliveries?status=pending")).body.count).toBe(0);
    // The time window applies to the last change.
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(f, `/api/v1/console/deliveries?since=${encodeURIComponent(future)}`)).body.count).toBe(0);
    expect((await get(f, `/api/v1/console/deliveries?until=${Date.now() - 3_600_000}`)).body.count).toBe(0);
    // Pages of 4 then 2 cover the six once each.
    const p1 = (await get(f, "/api/v1/console/deliveries?limit=4")).body;
    expect(p1.count).toBe(4);
    expect(p1.next_before).toMatch(/^\d+:/);
    const p2 = (await get(f, `/api/v1/console/deliveries?limit=4&before=${encodeURIComponent(p1.next_before)}`)).body;
    expect(p2.count).toBe(2);
    expect(p2.next_before).toBeNull();
    expect([...p1.deliveries, ...p2.deliveries].map((d: any) => d.id)).toEqual(all.deliveries.map((d: any) => d.id));
  });

  test("each delivery query reads through an index, never a scan of the table", async () => {
    const f = await ferry();
    const { BY_GROUP } = await import("../../src/modules/webhooks/listing-sql");
    for (const [group, sql] of Object.entries(BY_GROUP)) {
      const plan = f.daemon.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ status: null, subscriber: null, since: 0, until: 1, before_t: null, before_id: null, limit: 10 }) as Array<{ detail: string }>;
      const text = plan.map((p) => p.detail).join("; ");
      expect({ group, text }).toEqual({ group, text: expect.stringContaining("USING INDEX") });
      expect(text).not.toMatch(/SCAN webhook_deliveries(?! USING)/);
    }
  });

  test("queue history: depth and finished attempts, ending with a sample of now", async () => {
    const rx = await FakeSubscriber.start();
    cleanups.push(() => rx.stop());
    const f = await ferry([hook("q", rx.url)]);
    const first = (await get(f, "/api/v1/console/queue?minutes=5")).body;
    expect(first.minutes).toBe(5);
    const start = first.samples.at(-1);
    expect(start).toMatchObject({ waiting: 0, running: 0, dead: 0 });
    for (let i = 0; i < 5; i++) await f.request("POST", "/api/v1/events", { token: TOKEN, body: { id: `q-${i}`, name: "x.y", data: {} } });
    await rx.waitForRequests(5);
    await waitFor(async () => (await get(f, "/api/v1/console/queue")).body.samples.at(-1).done_total >= start.done_total + 5, 10_000, "five done jobs counted");
    const later = (await get(f, "/api/v1/console/queue")).body;
    expect(later.samples.length).toBeGreaterThanOrEqual(2); // the start-up sample and now
    for (const s of later.samples) expect(Date.parse(s.at)).toBeGreaterThan(Date.now() - 3_600_000);
  });
});
