import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createLogger } from "../../src/log/logger";

test("secrets are redacted from JSON logs at any usual depth", () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  const log = createLogger("info", sink as any);
  log.info({ headers: { authorization: "Bearer abc123", "x-moodle-token": "moodle-secret", "content-type": "application/json" } }, "request");
  log.info({ subscriber: { id: "s1", secret: "whsec_topsecret", api_key: "key-123" } }, "subscriber");
  log.info({ config: { bridge: { zendesk: { api_token: "zd-token" } } } }, "deep");
  log.info({ signature: "sha256=deadbeef", token: "t0k" }, "top");
  const text = lines.join("");
  for (const secret of ["abc123", "moodle-secret", "whsec_topsecret", "key-123", "deadbeef", "t0k", "zd-token"]) expect(text).not.toContain(secret);
  expect(text).toContain("application/json");
  expect(text).toContain('"id":"s1"');
  expect(lines.length).toBe(4);
  expect(JSON.parse(lines[0]!).headers.authorization).toBe("[redacted]");
});
