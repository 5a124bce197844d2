import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load";
import { chatwootSignature, zendeskSignature } from "../../src/modules/bridge/signatures";
import { FIXTURES, startFerry, tempDir, type TestFerry } from "../helpers/ferry";
import { startBridge, TICKET, type Bridge } from "./setup";

const fixtures = JSON.parse(readFileSync(join(FIXTURES, "bridge/payloads.json"), "utf8"));
const zdVector = fixtures.zendesk.webhook_headers._test_vector;
const cwVector = fixtures.chatwoot.webhook_headers_signed_post_PR13573._test_vector;

const ZD_SECRET = "zd-signing-secret-for-tests";
const CW_SECRET = "cw-webhook-secret-for-tests";

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  const list = open;
  open = [];
  for (const b of list) await b.close();
});

function countJobs(f: TestFerry): number {
  return (f.daemon.store.db.prepare("SELECT count(*) AS n FROM jobs").get() as { n: number }).n;
}

describe("signature test vectors", () => {
  test("the Zendesk vector verifies (secret used as-is)", () => {
    expect(zendeskSignature(zdVector.secret, zdVector.timestamp, zdVector.raw_body)).toBe(zdVector.expected);
    expect(zdVector.expected).toBe("S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM=");
  });

  test("the Chatwoot vector verifies", () => {
    expect(chatwootSignature(cwVector.secret, cwVector.timestamp, cwVector.raw_body)).toBe(cwVector.expected);
  });

  test("ferry accepts the Zendesk vector's signature over HTTP and rejects it for any other body", async () => {
    const at = Date.parse(zdVector.timestamp) + 3_000;
    const f = await startFerry(
      {
        bridge: {
          enabled: true,
          chatwoot: { base_url: "http://127.0.0.1:9", account_id: 1, inbox_id: 3, api_token: "x-token", webhook_secret: CW_SECRET },
          zendesk: { subdomain: "acme", email: "a@b.c", api_token: "y-token", signing_secret: zdVector.secret },
          log_dir: join(tempDir(), "logs"),
        },
      },
      { clock: { now: () => at } },
    );
    open.push({ close: () => f.stop() });
    const headers = { "x-zendesk-webhook-signature": zdVector.expected, "x-zendesk-webhook-signature-timestamp": zdVector.timestamp };
    // Signature accepted; the test-send body is not a comment event, so 422 says what was expected.
    const ok = await f.request("POST", "/service-api-webhook/zendesk-webhook", { body: zdVector.raw_body, headers });
    expect(ok.status).toBe(422);
    expect(((await ok.json()) as any).error.message).toContain("trigger body with ticket_id");
    const bad = await f.request("POST", "/service-api-webhook/zendesk-webhook", { body: zdVector.raw_body.replace("123", "124"), headers });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as any).error.message).toBe("X-Zendesk-Webhook-Signature does not match the body");
    expect(countJobs(f)).toBe(0);
  });
});

describe("signed webhooks through the real ferry", () => {
  test("signed echoes pass; bad, missing or stale signatures get 401 and store nothing", async () => {
    const b: Bridge = await startBridge({
      zd: { signingSecret: ZD_SECRET },
      cw: { webhookSecret: CW_SECRET },
      bridge: { zendesk: { signing_secret: ZD_SECRET }, chatwoot: { webhook_secret: CW_SECRET } },
    });
    open.push(b);
    b.zd.comment(TICKET, "signed hello");
    await b.idle();
    b.cw.reply(b.cw.conversations[0]!.id, "signed reply");
    await b.idle();
    expect(b.cw.messages.filter((m) => m.message_type === "incoming").map((m) => m.content)).toEqual(["signed hello"]);
    expect(b.zd.tickets.get(TICKET)!.comments.filter((c) => c.via === "api").map((c) => c.body)).toEqual(["signed reply"]);
    expect([...b.zd.deliveries, ...b.cw.deliveries].every((d) => d.status === 200)).toBe(true);
    expect(b.zd.deliveries.length + b.cw.deliveries.length).toBe(4); // two originals, two echoes

    const before = countJobs(b.ferry);
    const raw = JSON.stringify(b.zd.eventBody(b.zd.tickets.get(TICKET)!, b.zd.tickets.get(TICKET)!.comments[0]!, false));
    const now = new Date().toISOString();
    const zd = (headers: Record<string, string>) => b.ferry.request("POST", "/service-api-webhook/zendesk-webhook", { body: raw, headers });
    const cases: Array<[string, Promise<Response>]> = [
      ["missing", zd({})],
      ["bad", zd({ "x-zendesk-webhook-signature": zendeskSignature("other-secret", now, raw), "x-zendesk-webhook-signature-timestamp": now })],
      // Signed for one timestamp, sent with another (replay with a fresh time).
      ["re-timed", zd({ "x-zendesk-webhook-signature": zendeskSignature(ZD_SECRET, now, raw), "x-zendesk-webhook-signature-timestamp": new Date(Date.parse(now) - 1000).toISOString() })],
    ];
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    cases.push(["stale", zd({ "x-zendesk-webhook-signature": zendeskSignature(ZD_SECRET, stale, raw), "x-zendesk-webhook-signature-timestamp": stale })]);

    const msg = JSON.stringify(b.cw.messageCreated(b.cw.messages.find((m) => m.message_type === "outgoing")!));
    const ts = String(Math.floor(Date.now() / 1000));
    const cw = (headers: Record<string, string>) => b.ferry.request("POST", "/service-api-webhook/chatwoot-webhook", { body: msg, headers });
    cases.push(["cw missing", cw({})]);
    cases.push(["cw bad", cw({ "x-chatwoot-timestamp": ts, "x-chatwoot-signature": chatwootSignature("other", ts, msg) })]);
    cases.push(["cw no prefix", cw({ "x-chatwoot-timestamp": ts, "x-chatwoot-signature": chatwootSignature(CW_SECRET, ts, msg).slice(7) })]);
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    cases.push(["cw stale", cw({ "x-chatwoot-timestamp": old, "x-chatwoot-signature": chatwootSignature(CW_SECRET, old, msg) })]);
    for (const [name, p] of cases) {
      const r = await p;
      expect([name, r.status]).toEqual([name, 401]);
      const body = (await r.json()) as any;
      expect(body.error.code).toBe("unauthorized");
    }
    expect(countJobs(b.ferry)).toBe(before);
  });

  test("a secret path token is the alternative for unsigned Chatwoot", async () => {
    const token = "pt-4f9a1c2e7b";
    // An unsigning Chatwoot (before 2026): the path token is its only check.
    const b = await startBridge({ cw: { webhookSecret: "" }, bridge: { chatwoot: { path_token: token } }, chatwootPath: `/service-api-webhook/chatwoot-webhook/${token}` });
    open.push(b);
    b.zd.comment(TICKET, "hello");
    await b.idle();
    const m = b.cw.reply(b.cw.conversations[0]!.id, "via path token");
    await b.idle();
    expect(b.zd.tickets.get(TICKET)!.comments.filter((c) => c.via === "api").map((c) => c.body)).toEqual(["via path token"]);
    const before = countJobs(b.ferry);
    const body = b.cw.messageCreated(m);
    for (const path of ["/service-api-webhook/chatwoot-webhook", "/service-api-webhook/chatwoot-webhook/wrong-token", "/service-api-webhook/chatwoot-webhook?token=nope"]) {
      const r = await b.ferry.request("POST", path, { body });
      expect([path, r.status]).toEqual([path, 401]);
    }
    expect(countJobs(b.ferry)).toBe(before);
    const q = await b.ferry.request("POST", `/service-api-webhook/chatwoot-webhook?token=${token}`, { body });
    expect(q.status).toBe(200);
    expect(await q.json()).toEqual({ status: "success" });
    await b.idle();
    // Accepted, stored, and recognised as already forwarded.
    expect(b.zd.tickets.get(TICKET)!.comments.filter((c) => c.via === "api")).toHaveLength(1);
  });
});

describe("disabled bridge and config", () => {
  test("with bridge.enabled false both endpoints answer 503 and store nothing", async () => {
    const f = await startFerry({});
    open.push({ close: () => f.stop() });
    for (const path of ["/service-api-webhook/zendesk-webhook", "/service-api-webhook/chatwoot-webhook"]) {
      const r = await f.request("POST", path, { body: { ticket_id: "1" } });
      expect(r.status).toBe(503);
      const body = (await r.json()) as any;
      expect(body.error.code).toBe("bridge_disabled");
      expect(body.error.message).toContain("bridge.enabled");
    }
    expect(countJobs(f)).toBe(0);
    const h = (await (await f.request("GET", "/health")).json()) as any;
    expect(h.bridge).toEqual({ ok: true, enabled: false });
  });

  test("enabled without credentials: config errors name each key", () => {
    let problems: string[] = [];
    try {
      parseConfig({ bridge: { enabled: true, chatwoot: { base_url: "https://chat.example.com" } } });
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems).toContain("bridge.chatwoot.api_token: required when bridge.enabled is true: Chatwoot access token");
    expect(problems.some((p) => p.startsWith("bridge.chatwoot.account_id:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("bridge.chatwoot.inbox_id:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("bridge.zendesk.subdomain:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("bridge.zendesk.email:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("bridge.zendesk.api_token:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("bridge.chatwoot.base_url"))).toBe(false);
    // Strict: unknown keys and bad values are named too.
    expect(() => parseConfig({ bridge: { chatwot: {} } })).toThrow('bridge: unknown key "chatwot"');
    expect(() => parseConfig({ bridge: { dedupe_window: "soon" } })).toThrow("bridge.dedupe_window: expected a duration");
    // Defaults.
    const d = parseConfig({}).bridge;
    expect(d.enabled).toBe(false);
    expect(d.dedupe_window).toBe(3_600_000);
    expect(d.log_dir).toBe("./logs");
    expect(d.log_retention_days).toBe(30);
    expect(d.zendesk.signature_tolerance).toBe(300_000);
    expect(parseConfig({ bridge: { chatwoot: { account_id: "2" } } }).bridge.chatwoot.account_id).toBe(2);
  });
});
