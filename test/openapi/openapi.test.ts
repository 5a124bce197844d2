// /openapi.json is a valid OpenAPI 3.1 document that covers every route the README lists, with
// security, answers and the error envelope; /docs serves a page without external assets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startFerry, type TestFerry } from "../helpers/ferry";

let f: TestFerry;
let spec: any;
beforeAll(async () => {
  f = await startFerry({ bridge: { enabled: false } });
  const r = await fetch(f.url + "/openapi.json");
  expect(r.status).toBe(200);
  spec = await r.json();
});
afterAll(() => f.stop());

/** Every `METHOD /path` the README names in its route tables and curl examples, as OpenAPI paths. */
function readmeRoutes(): Set<string> {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const out = new Set<string>();
  const add = (method: string, path: string) => {
    const clean = path
      .split("?")[0]!
      .replace(/\{[^}|]*\|[^}]*\}/g, "{type}") // {user_created|user_updated|…}
      .replace(/\/$/, "");
    out.add(`${method.toUpperCase()} ${clean}`);
  };
  // Route tables: the first cell names the route(s): `GET /x`, `POST` / `GET /x`, `GET /a`, `GET /b`.
  for (const row of readme.split("\n").filter((l) => /^\| `(GET|POST|PUT|DELETE|PATCH)\b/.test(l))) {
    const cell = row.split(/ \| /)[0]!;
    if (cell.includes("…")) continue; // an abbreviation in the benchmark tables
    for (const m of cell.matchAll(/`((?:GET|POST|PUT|DELETE|PATCH)(?:` \/ `(?:GET|POST|PUT|DELETE|PATCH))*)\s*(\/[^`\s]*)`/g)) {
      for (const method of m[1]!.split(/` \/ `/)) add(method, m[2]!);
    }
  }
  // curl examples: curl [-X METHOD] ... http://127.0.0.1:8000/path (no -X and no data: GET).
  for (const block of readme.split(/\n(?=curl )/)) {
    const m = /^curl\b([\s\S]*?)https?:\/\/(?:127\.0\.0\.1|localhost):8000(\/[^\s"'?;|)]*)/.exec(block);
    if (!m) continue;
    const method = /-X\s+([A-Z]+)/.exec(m[1]!)?.[1] ?? (/(^|\s)(-d|--data|--data-binary|--json)\b/.test(block.split("\n\n")[0]!) ? "POST" : "GET");
    add(method, m[2]!);
  }
  return out;
}

/** A README route matches a documented path whose {parameters} stand for any one segment ($VAR, an id, a type name). */
function documented(route: string): boolean {
  const [method, path] = route.split(" ") as [string, string];
  return Object.entries(spec.paths).some(([p, ops]) => {
    const pattern = new RegExp(`^${p.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+")}$`);
    return pattern.test(path) && (ops as any)[method.toLowerCase()];
  });
}

describe("/openapi.json", () => {
  test("is a valid OpenAPI 3.1 document (swagger-parser)", async () => {
    expect(spec.openapi).toStartWith("3.1");
    await SwaggerParser.validate(structuredClone(spec));
  });

  test("covers every route the README lists", () => {
    const routes = readmeRoutes();
    // The README has dozens of routes; a parser that finds few is broken, not a pass.
    expect(routes.size).toBeGreaterThan(25);
    const missing = [...routes].filter((r) => !r.startsWith("GET /ui") && !documented(r));
    expect(missing).toEqual([]);
  });

  test("each operation has a summary, a success answer, and the error envelope for its errors", () => {
    let operations = 0;
    for (const [path, ops] of Object.entries<any>(spec.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        operations++;
        expect([path, method, typeof op.summary]).toEqual([path, method, "string"]);
        const statuses = Object.keys(op.responses ?? {});
        expect([path, statuses.some((s) => s.startsWith("2"))]).toEqual([path, true]);
        for (const s of statuses.filter((s) => /^[45]/.test(s) && s !== "503" || (s === "503" && !path.includes("health")))) {
          expect([path, s, op.responses[s].content["application/json"].schema.$ref]).toEqual([path, s, "#/components/schemas/Error"]);
        }
      }
    }
    expect(operations).toBeGreaterThan(25);
    expect(spec.components.schemas.Error.properties.error.required).toEqual(["code", "message", "details"]);
  });

  test("auth: API token, Moodle token and signatures are security schemes the routes use", () => {
    const schemes = spec.components.securitySchemes;
    expect(schemes.apiToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(schemes.moodleToken).toMatchObject({ type: "apiKey", in: "header", name: "X-Moodle-Token" });
    expect(schemes.jobsSignature.name).toBe("X-Signature");
    expect(schemes.zendeskSignature.name).toBe("X-Zendesk-Webhook-Signature");
    expect(schemes.chatwootSignature.name).toBe("X-Chatwoot-Signature");
    expect(spec.paths["/api/v1/events"].post.security).toEqual([{ apiToken: [] }]);
    expect(spec.paths["/webhook/moodle-events"].post.security).toEqual([{ moodleToken: [] }, { moodleBearer: [] }]);
    expect(spec.paths["/api/v1/jobs"].post.security).toEqual([{ jobsSignature: [] }, { apiToken: [] }]);
    expect(spec.paths["/service-api-webhook/zendesk-webhook"].post.security).toContainEqual({ zendeskSignature: [] });
    expect(spec.paths["/health"].get.security).toBeUndefined();
    // Every route under /api/ needs credentials.
    for (const [path, ops] of Object.entries<any>(spec.paths)) {
      if (!path.startsWith("/api/") || path === "/api/v1/health") continue;
      for (const op of Object.values<any>(ops)) expect([path, (op.security ?? []).length > 0]).toEqual([path, true]);
    }
  });

  test("request bodies come from the zod models, including the typed Moodle events and job items", () => {
    const body = (p: string) => spec.paths[p].post.requestBody.content["application/json"].schema;
    expect(body("/api/v1/events").required).toContain("name");
    expect(body("/api/v1/events").properties.context.properties).toHaveProperty("tenantId");
    expect(body("/api/v1/jobs").required).toEqual(["type"]);
    expect(JSON.stringify(body("/api/v1/jobs"))).toContain("lots");
    const typed = JSON.stringify(body("/api/v1/events/moodle/{type}"));
    for (const field of ["enrollmentid", "gradeid", "itemid"]) expect(typed).toContain(field);
    expect(JSON.stringify(body("/webhook/moodle-events"))).toContain("logs");
    expect(body("/service-api-webhook/chatwoot-webhook").properties).toHaveProperty("event");
    const q = spec.paths["/api/v1/queue/jobs"].get.parameters.map((p: any) => `${p.in}:${p.name}`);
    expect(q).toEqual(expect.arrayContaining(["query:status", "query:kind", "query:limit", "query:before"]));
  });
});

describe("route schemas validate requests", () => {
  test("a missing required field says required, naming it; auth comes before validation", async () => {
    const noAuth = await f.request("POST", "/api/v1/events", { body: {} });
    expect(noAuth.status).toBe(401);
    const r = await f.request("POST", "/api/v1/events", { body: { data: {} }, token: "dev-api-token" });
    expect(r.status).toBe(422);
    const e = (await r.json()) as any;
    expect(e.error.code).toBe("validation_failed");
    expect(e.error.message).toBe("invalid request body: name: required (expected string)");
    expect(e.error.details).toEqual([{ path: "name", message: "required (expected string)" }]);
    const q = await f.request("GET", "/api/v1/queue/jobs?limit=zero", { token: "dev-api-token" });
    expect(q.status).toBe(422);
    expect(((await q.json()) as any).error.details[0].path).toBe("limit");
    const typed = await f.request("POST", "/api/v1/events/moodle/user_enrolled", { body: { userid: 5, courseid: 2 }, headers: { "x-moodle-token": "dev-moodle-token" } });
    expect(typed.status).toBe(422);
    expect(((await typed.json()) as any).error.details).toContainEqual({ path: "enrollmentid", message: "required" });
    // A value that fits none of a union's forms says what each form wanted, not "Invalid input".
    const rebuild = await f.request("POST", "/api/v1/jobs", { token: "dev-api-token", body: { type: "recommendations.rebuild", items: [{}] } });
    expect(rebuild.status).toBe(422);
    const msg = ((await rebuild.json()) as any).error.message as string;
    expect(msg).not.toContain("Invalid input");
    expect(msg).toContain("(user_id: required (expected number), module_id: required (expected number)) or (course_id: required (expected number))");
  });

  test("an empty bulk-retry body means all defaults; a non-JSON body is 415", async () => {
    const r = await fetch(f.url + "/api/v1/webhook-failures/retry", { method: "POST", headers: { authorization: "Bearer dev-api-token" } });
    expect(r.status).toBe(202);
    expect(((await r.json()) as any).replayed).toBe(0);
    const t = await fetch(f.url + "/api/v1/queue/replay", { method: "POST", headers: { authorization: "Bearer dev-api-token", "content-type": "text/plain" }, body: "kind=x" });
    expect(t.status).toBe(415);
  });
});

describe("/docs", () => {
  test("serves one HTML page listing every operation, with no external scripts or styles", async () => {
    const r = await fetch(f.url + "/docs");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/html");
    const html = await r.text();
    expect(html).toContain("/openapi.json");
    for (const path of Object.keys(spec.paths)) expect(html).toContain(path.replace(/&/g, "&#38;"));
    expect(html).not.toMatch(/<script|<link|<img|@import|(src|href)=["']?(https?:)?\/\//i); // nothing fetched from elsewhere
  });

  test.skipIf(!Bun.which("curl") || !Bun.which("bash"))("its curl examples run as shown (dev tokens, example bodies)", async () => {
    const html = await (await fetch(f.url + "/docs")).text();
    const unescape = (t: string) => t.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));
    const examples = [...html.matchAll(/<pre>(curl [\s\S]*?)<\/pre>/g)].map((m) => unescape(m[1]!));
    expect(examples.length).toBe(Object.values<any>(spec.paths).reduce((n, ops) => n + Object.keys(ops).length, 0));
    const wanted = [
      "-X POST '__/api/v1/events'",
      "-X POST '__/webhook/moodle-events'",
      "-X POST '__/api/v1/events/moodle/user_enrolled'",
      "'__/api/recommendations/5/13'",
      "-X POST '__/api/v1/jobs'",
      "-X POST '__/api/v1/queue/replay'",
      "-X POST '__/api/v1/webhook-failures/retry'",
    ].map((w) => `curl -s ${w.replace("__", "http://127.0.0.1:8000")}`);
    for (const w of wanted) {
      const cmd = examples.find((e) => e.split(" \\\n")[0] === w);
      expect([w, cmd !== undefined]).toEqual([w, true]);
      // Async: this ferry runs in the test's own process.
      const run = Bun.spawn(["bash", "-c", `${cmd!.replace("http://127.0.0.1:8000", f.url)} -o /dev/null -w '%{http_code}' --max-time 10`], { stdout: "pipe", stderr: "pipe" });
      const code = Number(await new Response(run.stdout).text());
      await run.exited;
      expect([cmd, code >= 200 && code < 300, code]).toEqual([cmd, true, code]);
    }
  });
});
