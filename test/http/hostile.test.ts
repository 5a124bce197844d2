// Issue 10, findings 5, 6 and 11: what a hostile or careless client can do through the real
// server (routing by Host, credentials in URLs, body limits, deep JSON, integers past 2^53).
import { afterAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startFerry } from "../helpers/ferry";
import { observerPayloads } from "../moodle/fixtures";

const API = "test-api-token";
const MOODLE = "test-moodle-token";
const ferry = await startFerry({
  server: { body_limit: "64kb" },
  auth: { api_tokens: [API] },
  moodle: { tokens: [MOODLE] },
  webhooks: {
    subscribers: [{ id: "crm", url: "https://hooks.example.com/in?token=sub-secret-123&tenant=7", events: ["*"] }],
  },
  bridge: {
    enabled: true,
    chatwoot: { base_url: "https://bridgebot:cw-pass-456@chat.example.com", account_id: 1, inbox_id: 2, api_token: "cw-token", webhook_secret: "cw-hook-secret" },
    zendesk: { subdomain: "acme", email: "agent@example.com", api_token: "zd-token", signing_secret: "zd-signing" },
  },
});
afterAll(() => ferry.stop());
const port = new URL(ferry.url).port;

/** One raw HTTP/1.1 request (fetch cannot send an arbitrary Host); returns status and body. */
function raw(head: string, body = ""): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.write(`${head}\r\nConnection: close\r\n\r\n${body}`));
    let out = "";
    socket.on("data", (d) => (out += d.toString("utf8")));
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0);
      resolve({ status, body: out.slice(out.indexOf("\r\n\r\n") + 4) });
    });
    socket.on("error", reject);
  });
}

async function envelope(r: Response) {
  const body = (await r.json()) as { error: { code: string; message: string; details: unknown } };
  expect(Object.keys(body)).toEqual(["error"]);
  return body.error;
}

describe("finding 5: the routed path never depends on Host", () => {
  test("GET /public/api/v1/config with a short Host answers 404, not the config", async () => {
    for (const host of ["x", "ab", "abc", "", "a/b", "a?b"]) {
      const r = await raw(`GET /public/api/v1/config HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${API}`);
      expect({ host, status: r.status }).toEqual({ host, status: 404 });
      expect(r.body).not.toContain("api_tokens");
      expect(JSON.parse(r.body).error.code).toBe("not_found");
    }
  });

  test("the real path routes the same whatever the Host", async () => {
    for (const host of ["x", "", "a/b", "127.0.0.1:" + port]) {
      const r = await raw(`GET /api/v1/config HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${API}`);
      expect({ host, status: r.status }).toEqual({ host, status: 200 });
      expect(JSON.parse(r.body).auth.api_tokens).toEqual(["***"]);
    }
    // And a POST with a body arrives intact through the rewritten request.
    const body = JSON.stringify({ name: "host.check", data: { n: 1 } });
    const r = await raw(`POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`, body);
    expect(r.status).toBe(202);
  });
});

describe("finding 6: no credentials through URLs", () => {
  test("/health (no auth) shows chatwoot.base_url without user:password", async () => {
    const r = await ferry.request("GET", "/health");
    const text = await r.text();
    expect(text).toContain("chat.example.com");
    expect(text).not.toContain("cw-pass-456");
    expect(text).not.toContain("bridgebot");
  });

  test("/api/v1/config and /api/v1/plugins mask subscriber query values and userinfo", async () => {
    const config = await (await ferry.request("GET", "/api/v1/config", { token: API })).text();
    expect(config).not.toContain("sub-secret-123");
    expect(config).not.toContain("cw-pass-456");
    expect(JSON.parse(config).webhooks.subscribers[0].url).toBe("https://hooks.example.com/in?token=***&tenant=***");
    const plugins = await (await ferry.request("GET", "/api/v1/plugins", { token: API })).text();
    expect(plugins).not.toContain("sub-secret-123");
    expect(plugins).toContain("https://hooks.example.com/in?token=***&tenant=***");
  });
});

describe("finding 11: limits", () => {
  const chunked = (path: string, text: string, token = API) =>
    fetch(ferry.url + path, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: new ReadableStream({
        start(c) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.subarray(i, i + 1000));
          c.close();
        },
      }),
    });

  test("body_limit counts bytes: 22,000 '€' (66 kB, 22k UTF-16 units) sent chunked → 413", async () => {
    const body = JSON.stringify({ name: "euro.test", data: { s: "€".repeat(22_000) } });
    expect(body.length).toBeLessThan(65536);
    expect(new TextEncoder().encode(body).length).toBeGreaterThan(65536);
    const r = await chunked("/api/v1/events", body);
    expect(r.status).toBe(413);
    expect((await envelope(r)).code).toBe("payload_too_large");
    // The same body with Content-Length.
    const r2 = await ferry.request("POST", "/api/v1/events", { body, token: API });
    expect(r2.status).toBe(413);
    // Just under the limit in bytes passes.
    const ok = await chunked("/api/v1/events", JSON.stringify({ name: "euro.test", data: { s: "€".repeat(21_000) } }));
    expect(ok.status).toBe(202);
  });

  test("a chunked body far past the limit gets our 413 envelope, not Bun's bare 413", async () => {
    const r = await chunked("/api/v1/events", JSON.stringify({ name: "big", data: { s: "x".repeat(500_000) } }));
    expect(r.status).toBe(413);
    expect((await envelope(r)).code).toBe("payload_too_large");
  });

  test("a Content-Length far past any limit → our 413 envelope at once, without reading the body", async () => {
    const r = await raw(`POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${API}\r\nContent-Type: application/json\r\nContent-Length: 99999999999`, "{");
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe("payload_too_large");
  });

  const deep = (depth: number) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  };

  test("JSON nested past 128 levels in data → 422 naming the path (no 500)", async () => {
    const text = JSON.stringify({ name: "deep.event", data: deep(3000) });
    const r = await ferry.request("POST", "/api/v1/events", { body: text, token: API, headers: { "content-type": "application/json" } });
    expect(r.status).toBe(422);
    const e = await envelope(r);
    expect(e.code).toBe("validation_failed");
    expect(e.message).toContain("data.a.a.a");
    expect(e.message).toContain("nested deeper than 128");
    // 100 levels is fine.
    expect((await ferry.request("POST", "/api/v1/events", { body: { name: "deep.ok", data: deep(100) }, token: API })).status).toBe(202);
  });

  test("Moodle `other` nested past the cap, as an object or as JSON text → 422 naming logs[0].other", async () => {
    const log = { ...observerPayloads()[0].logs[0] };
    for (const other of [deep(3000), JSON.stringify(deep(3000))]) {
      const body = JSON.stringify({ event_id: `deep-${typeof other}`, logs: [{ ...log, other }] });
      const r = await fetch(ferry.url + "/webhook/moodle-events", { method: "POST", body, headers: { "content-type": "application/json", "x-moodle-token": MOODLE } });
      expect(r.status).toBe(422);
      const e = await envelope(r);
      expect(e.message).toContain("logs[0].other");
    }
  });

  test("an integer past 2^53 (objectid 9007199254740993) → 422 naming the field; floats and safe ids pass", async () => {
    const log = observerPayloads()[0].logs[0];
    const text = JSON.stringify({ event_id: "bigint-1", logs: [{ ...log, objectid: 1 }] }).replace('"objectid":1', '"objectid":9007199254740993');
    const r = await fetch(ferry.url + "/webhook/moodle-events", { method: "POST", body: text, headers: { "content-type": "application/json", "x-moodle-token": MOODLE } });
    expect(r.status).toBe(422);
    const e = await envelope(r);
    expect(e.message).toContain("logs[0].objectid");
    expect(e.message).toContain("2^53");
    const ev = await ferry.request("POST", "/api/v1/events", { body: '{"name":"big.int","data":{"n":-12345678901234567890}}', token: API });
    expect(ev.status).toBe(422);
    expect((await envelope(ev)).message).toContain("data.n");
    // A big float and the largest safe integer are fine; so are long digit strings.
    const fine = await ferry.request("POST", "/api/v1/events", { body: '{"name":"big.float","data":{"f":1.5e300,"g":9007199254740991,"s":"12345678901234567890"}}', token: API });
    expect(fine.status).toBe(202);
  });
});

describe("credentials come first", () => {
  // An outsider without a token learns 401, whatever the body: nothing about parsing or validation.
  const routes: Array<[string, string]> = [
    ["/api/v1/events", "api"],
    ["/webhook/moodle-events", "moodle"],
    ["/api/v1/jobs", "api"],
    ["/api/v1/events/moodle/user_created", "moodle"],
  ];
  const bodies: Array<[string, string, number]> = [
    ["text/plain", "x", 415],
    ["application/json", "{not json", 400],
    ["application/json", "[".repeat(200) + "]".repeat(200), 422],
  ];
  for (const [path, kind] of routes) {
    test(`${path}: 401 without a token for a bad body; with one, the body's own error`, async () => {
      for (const [type, body, status] of bodies) {
        const anon = await fetch(ferry.url + path, { method: "POST", headers: { "content-type": type }, body });
        expect([path, type, anon.status, (await anon.json() as any).error.code]).toEqual([path, type, 401, "unauthorized"]);
        const token: Record<string, string> = kind === "api" ? { authorization: `Bearer ${API}` } : { "x-moodle-token": MOODLE };
        const authed = await fetch(ferry.url + path, { method: "POST", headers: { "content-type": type, ...token }, body });
        expect([path, type, authed.status]).toEqual([path, type, status]);
      }
    });
  }
});
