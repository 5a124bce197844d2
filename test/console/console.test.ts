// The operator console in a real browser (Debian chromium via playwright-core): sign-in gate,
// replaying dead work with a click, the learner view, and a screenshot of every page.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import type { BrowserContext } from "playwright-core";
import { FakeSubscriber, type Reply } from "../fakes/subscriber";
import { chunks, course2Logs, structure2 } from "../moodle/fixtures";
import { startFerry, waitFor, type TestFerry } from "../helpers/ferry";
import { startBridge, TICKET } from "../bridge/setup";
import { chromiumPath, launch, shot, signIn, waitForText, withPage } from "./browser";

const TOKEN = "console-test-token";
const MOODLE_TOKEN = "console-moodle-token";
const NAV = { name: "Console pages" } as const;

let browser: BrowserContext;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

async function ferryWithHooks(rx: FakeSubscriber, subscriber: Record<string, unknown> = {}): Promise<TestFerry> {
  const f = await startFerry({
    auth: { api_tokens: [TOKEN] },
    moodle: { tokens: [MOODLE_TOKEN] },
    webhooks: {
      allow_private_targets: true, // the receiver is on loopback
      subscribers: [{ id: "crm", name: "CRM sync", url: rx.url, events: ["*"], timeout_ms: 2000, retry: { max_attempts: 1 }, ...subscriber }],
    },
  });
  cleanups.push(() => f.stop());
  return f;
}

async function receiver(reply: Reply = { status: 200, body: "ok" }): Promise<FakeSubscriber> {
  const rx = await FakeSubscriber.start({ reply });
  cleanups.push(() => rx.stop());
  return rx;
}

async function publish(f: TestFerry, id: string): Promise<string> {
  const r = await f.request("POST", "/api/v1/events", { token: TOKEN, body: { id, name: "attempt.submitted", data: { attempt: id } } });
  expect(r.status).toBe(202);
  return await waitFor(() => f.daemon.store.db.prepare("SELECT id FROM webhook_deliveries WHERE event_id = ?").pluck().get(id) as string | undefined);
}

async function deliveryStatus(f: TestFerry, id: string): Promise<string> {
  return ((await (await f.request("GET", `/api/v1/deliveries/${id}`, { token: TOKEN })).json()) as any).status;
}

async function waitDelivery(f: TestFerry, id: string, status: string): Promise<void> {
  await waitFor(async () => (await deliveryStatus(f, id)) === status, 15_000, `delivery ${id} ${status}`);
}

describe.skipIf(!chromiumPath)("operator console in Chromium", () => {
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await browser?.close();
  });

  test("sign-in gate: nothing before sign-in, a wrong token refused, the token kept in memory only", async () => {
    const rx = await receiver({ status: 500, body: "down" });
    const f = await ferryWithHooks(rx);
    const deliveryId = await publish(f, "gate-1");
    await waitDelivery(f, deliveryId, "dead");
    await withPage(browser, "signin", async (page, errors) => {
      const calls: string[] = [];
      page.on("request", (r) => calls.push(new URL(r.url()).pathname));
      await page.goto(`${f.url}/ui`);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await shot(page, "01-signin");
      // The shell has no data and asked the server for none.
      expect(await page.getByRole("navigation", NAV).isVisible()).toBe(false);
      expect(await page.locator("#page").innerHTML()).toBe("");
      const text = await page.locator("body").innerText();
      for (const secret of [deliveryId, "crm", "CRM sync", "gate-1", "dead"]) expect(text).not.toContain(secret);
      expect(calls.filter((p) => p.startsWith("/api") || p === "/health")).toEqual([]);

      await page.getByLabel("API token").fill("wrong-token");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByText("That token was refused.").waitFor();
      expect(await page.getByRole("navigation", NAV).isVisible()).toBe(false);
      expect(await page.locator("#page").innerHTML()).toBe("");
      expect(await page.getByLabel("API token").inputValue()).toBe("");
      await shot(page, "02-signin-refused");

      // Keyboard only: type the token and press Enter.
      await page.getByLabel("API token").focus();
      await page.keyboard.type(TOKEN);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      await waitForText(page, "Store");
      // Nothing persisted: no cookie, no storage, the token not in the URL.
      expect(await browser.cookies(f.url)).toEqual([]);
      expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
      expect(page.url()).not.toContain(TOKEN);

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      expect(await page.locator("#page").innerHTML()).toBe("");
      // A reload forgets the token too.
      await signIn(page, f.url, TOKEN);
      await page.reload();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      expect(await page.getByRole("navigation", NAV).isVisible()).toBe(false);
      // The refused token's 401 is the one resource error Chromium logs here.
      expect(errors.filter((e) => !e.includes("status of 401"))).toEqual([]);
    });
  });

  test("a token revoked by a config reload signs the console out at its next refresh", async () => {
    const rx = await receiver();
    const f = await ferryWithHooks(rx);
    await withPage(browser, "revoked", async (page) => {
      await signIn(page, f.url, TOKEN);
      await waitForText(page, "Store");
      const config = JSON.parse(readFileSync(f.configPath, "utf8"));
      writeFileSync(f.configPath, JSON.stringify({ ...config, auth: { api_tokens: ["a-new-token"] } }));
      expect(f.daemon.reload()).toBe(true);
      await page.getByText("The server refused the token; sign in again.").waitFor({ timeout: 15_000 });
      expect(await page.getByRole("navigation", NAV).isVisible()).toBe(false);
      expect(await page.locator("#page").innerHTML()).toBe("");
    });
  });

  test("the overview shows a backlog building and draining without a reload", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const rx = await receiver(async () => {
      await gate; // the receiver holds every request until the test opens the gate
      return new Response("ok");
    });
    const f = await ferryWithHooks(rx, { concurrency: 1, timeout_ms: 60_000 });
    await withPage(browser, "drain", async (page, errors) => {
      await signIn(page, f.url, TOKEN);
      await page.getByLabel("Queue history window").selectOption("5");
      for (let i = 0; i < 40; i++) await f.request("POST", "/api/v1/events", { token: TOKEN, body: { id: `b-${i}`, name: "x.y", data: {} } });
      const caption = page.locator("figcaption").first();
      await waitFor(async () => /: 40 now/.test(await caption.innerText()), 15_000, "40 waiting on the page");
      await shot(page, "09-overview-backlog");
      open();
      await waitFor(async () => /: 0 now, peak 40/.test(await caption.innerText()), 20_000, "the backlog drained on the page");
      await waitFor(async () => /Jobs completed: 40 /.test(await page.locator("figcaption").nth(1).innerText()), 10_000, "40 completed on the page");
      expect(errors).toEqual([]);
    });
  });

  test("a dead delivery replayed by a click reaches the receiver; the window retry replays the rest", async () => {
    // The receiver fails with markup in its body: the console must show it as text.
    const rx = await receiver({ status: 500, body: '<img src=x onerror="window.__xss=1"><b>down</b>' });
    const f = await ferryWithHooks(rx);
    const first = await publish(f, "replay-1");
    await waitDelivery(f, first, "dead");
    rx.setDefault({ status: 200, body: "thanks" });
    await withPage(browser, "replay", async (page, errors) => {
      await signIn(page, f.url, TOKEN);
      await page.getByRole("navigation", NAV).getByRole("link", { name: "Deliveries" }).click();
      await page.getByRole("heading", { name: "Deliveries" }).waitFor();
      await page.getByLabel("Status").selectOption("dead");
      await page.getByRole("button", { name: "Apply filters" }).click();
      const retry = page.getByRole("button", { name: `Retry delivery ${first}` });
      await retry.waitFor();
      await shot(page, "03-deliveries-dead");

      // Cancel sends nothing.
      await retry.click();
      await page.getByRole("dialog").waitFor();
      await page.keyboard.press("Escape");
      await Bun.sleep(300);
      expect(rx.requests).toHaveLength(1);

      await retry.click();
      const dialog = page.getByRole("dialog");
      await dialog.waitFor();
      expect(await dialog.innerText()).toContain(first);
      await shot(page, "04-deliveries-confirm");
      await dialog.getByRole("button", { name: "Retry delivery" }).click();
      await rx.waitForRequests(2);
      await waitDelivery(f, first, "delivered");
      expect(JSON.parse(rx.requests[1]!.body).data).toEqual({ attempt: "replay-1" });
      await waitForText(page, `Delivery ${first} queued for retry.`);

      // The delivery's page: both attempts, each with its captured response, shown as text.
      await page.goto(`${f.url}/ui#/delivery/${first}`);
      await page.getByRole("heading", { name: `Delivery ${first}` }).waitFor();
      const attempts = page.getByRole("table", { name: "Attempts" }).locator("tbody tr");
      await waitFor(async () => (await attempts.count()) === 2, 15_000, "two attempts on the page");
      for (const s of await page.locator("details summary").all()) await s.click();
      await waitForText(page, "thanks");
      await waitForText(page, '<img src=x onerror="window.__xss=1"><b>down</b>');
      // Still open after the next refresh (polling keeps <details> state).
      await Bun.sleep(3500);
      await waitForText(page, "thanks", 1000);
      expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
      expect(await page.locator("main img, main b").count()).toBe(0);
      await shot(page, "05-delivery-detail");

      // Two more die; "Retry failed deliveries in this window" replays both after a confirm.
      rx.setDefault({ status: 503, body: "busy" });
      const more = [await publish(f, "replay-2"), await publish(f, "replay-3")];
      for (const id of more) await waitDelivery(f, id, "dead");
      rx.setDefault({ status: 200, body: "ok" });
      const before = rx.requests.length;
      await page.goto(`${f.url}/ui#/deliveries?subscriber=crm&status=dead`);
      await page.getByRole("button", { name: `Retry delivery ${more[1]}` }).waitFor();
      // By keyboard: focus the button, Enter opens the dialog on Cancel, Tab moves to the action.
      await page.getByRole("button", { name: "Retry failed deliveries in this window" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("dialog").waitFor();
      expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe("Cancel");
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe("Retry all");
      await page.keyboard.press("Enter");
      await waitForText(page, "2 deliveries queued for retry.");
      await rx.waitForRequests(before + 2);
      for (const id of more) await waitDelivery(f, id, "delivered");
      // The dead list drains on its own (polling).
      await waitForText(page, "No deliveries match.");
      expect(errors).toEqual([]);
    });
  });

  test("the learner view shows each lesson's recommendations with their reasons", async () => {
    const rx = await receiver();
    const f = await ferryWithHooks(rx);
    const s = structure2();
    expect((await f.request("POST", "/api/v1/courses/2/structure", { body: s, token: TOKEN })).status).toBe(200);
    // Through the real Moodle webhook, as the plugin sends them.
    for (const c of chunks(course2Logs(), 250)) {
      expect((await f.request("POST", "/webhook/moodle-events", { body: { logs: c }, headers: { "x-moodle-token": MOODLE_TOKEN } })).status).toBe(202);
    }
    await waitFor(() => f.daemon.store.db.prepare("SELECT count(*) FROM log_events WHERE processed = 0").pluck().get() === 0, 30_000, "pipeline to drain");
    const api = (await (await f.request("GET", "/api/v1/recommendations/24?course_id=2", { token: TOKEN })).json()) as any;
    expect(api.modules.length).toBeGreaterThan(0);
    await withPage(browser, "learner", async (page, errors) => {
      await signIn(page, f.url, TOKEN);
      await page.getByRole("navigation", NAV).getByRole("link", { name: "Learners" }).click();
      await page.getByLabel("Learner (Moodle user id)").fill("24");
      await page.getByLabel("Course id (optional)").fill("2");
      await page.getByRole("button", { name: "Show recommendations" }).click();
      await waitForText(page, `${api.modules.length} lessons with recommendations for learner 24`);
      const lessons = page.locator("section.module");
      expect(await lessons.count()).toBe(api.modules.length);
      const m = api.modules[0];
      const section = page.getByRole("region", { name: new RegExp(`Course 2, .*module ${m.module_id}\\)?$`) });
      const text = await section.innerText();
      for (const r of m.recommendations) {
        expect(text).toContain(r.reason);
        expect(text).toContain(r.activity_name);
      }
      await shot(page, "06-learner");
      expect(errors).toEqual([]);
    });
  });

  test("a dead bridge job is replayed from the bridge page", async () => {
    const b = await startBridge();
    cleanups.push(() => b.close());
    b.zd.comment(TICKET, "hello");
    await b.idle();
    b.zd.failNext({ method: "PUT", path: /tickets\/5158\.json$/, status: 422, body: JSON.stringify({ error: "RecordInvalid", description: "Record validation errors" }) });
    b.cw.reply(b.cw.conversations[0]!.id, "a reply that fails once");
    await b.idle();
    const dead = b.jobs().find((j) => j.status === "dead")!;
    expect(dead).toBeTruthy();
    await withPage(browser, "bridge", async (page, errors) => {
      await signIn(page, b.ferry.url, "dev-api-token");
      await page.getByRole("navigation", NAV).getByRole("link", { name: "Bridge" }).click();
      await waitForText(page, "422 rejected as invalid");
      await shot(page, "07-bridge-dead");
      await page.getByRole("button", { name: `Replay job ${dead.id}` }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Replay job" }).click();
      await waitForText(page, `Job ${dead.id} queued again.`);
      await b.idle();
      expect(b.jobs().find((j) => j.id === dead.id)!.status).toBe("done");
      await waitForText(page, "No dead bridge jobs.");
      // The direction recovers on the page by itself (polling): its last attempt succeeded.
      const direction = page.getByRole("article", { name: "Chatwoot → Zendesk" });
      await waitFor(async () => (await direction.locator(".badge").innerText()) === "ok", 15_000, "Chatwoot → Zendesk ok");
      await waitForText(page, "0 queued, 0 running");
      expect(b.zd.tickets.get(TICKET)!.comments.some((c) => JSON.stringify(c).includes("a reply that fails once"))).toBe(true);
      await shot(page, "08-bridge-replayed");
      expect(errors).toEqual([]);
    });
  });

  test("every page renders by keyboard navigation without errors (screenshots)", async () => {
    const rx = await receiver({ status: 404, body: "no such hook" });
    const f = await ferryWithHooks(rx, { max_rate: 20 });
    const failed = await publish(f, "pages-1");
    await waitDelivery(f, failed, "failed");
    // A jobs-API job with one good and one unknown delivery id: partially completed, with results.
    const job = (await (await f.request("POST", "/api/v1/jobs", { token: TOKEN, body: { type: "webhooks.replay", items: [failed, "dlv_missing"] } })).json()) as any;
    await waitFor(async () => ((await (await f.request("GET", `/api/v1/jobs/${job.job_id}/status`, { token: TOKEN })).json()) as any).finished_at, 15_000, "job to finish");
    await withPage(browser, "pages", async (page, errors) => {
      await signIn(page, f.url, TOKEN);
      const pages: Array<[string, string | RegExp]> = [
        ["Overview", "Jobs completed"],
        ["Subscribers", "at most 20/s"],
        ["Deliveries", failed],
        ["Jobs", "api.job"],
        ["Bridge", "bridge is off"],
        ["Learners", "Enter a learner"],
        ["Config", "webhooks"],
      ];
      let n = 10;
      for (const [name, expected] of pages) {
        // Links are real <a>s: focus and Enter follow them.
        await page.getByRole("navigation", NAV).getByRole("link", { name }).focus();
        await page.keyboard.press("Enter");
        await page.getByRole("heading", { level: 1, name }).waitFor();
        expect(await page.getByRole("navigation", NAV).getByRole("link", { name }).getAttribute("aria-current")).toBe("page");
        await waitForText(page, expected);
        await shot(page, `${n++}-${name.toLowerCase()}`);
      }
      // Masked config: the API token is not on the page.
      expect(await page.locator("body").innerText()).not.toContain(TOKEN);
      // A job's page, then its jobs-API status and results.
      await page.getByRole("navigation", NAV).getByRole("link", { name: "Jobs" }).click();
      await page.getByLabel("Jobs API job id").fill(job.job_id);
      await page.getByRole("button", { name: "Show job" }).click();
      await waitForText(page, "partially_completed");
      await waitForText(page, "dlv_missing");
      await shot(page, `${n++}-apijob`);
      await page.goto(`${f.url}/ui#/subscribers`);
      await page.getByRole("link", { name: "Deliveries of CRM sync" }).click();
      await waitForText(page, failed);
      expect(page.url()).toContain("subscriber=crm");
      expect(errors).toEqual([]);
    });
  });
});
