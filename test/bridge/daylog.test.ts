import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/ferry";
import { startBridge, TICKET } from "./setup";

// ferry's clock runs from 23:59:59 local time on 14 June 2030; the test moves it past midnight.
let offset = new Date(2030, 5, 14, 23, 59, 59, 0).getTime() - Date.now();
const clock = { now: () => Date.now() + offset };
const dir = tempDir("ferry-daylog-");
const logFile = join(dir, "ferry.log");
const ZD_SECRET = "zd-signing-8c1f0e";
const CW_SECRET = "cw-signing-77ad21";
const b = await startBridge({
  clock,
  dir,
  logFile,
  zd: { signingSecret: ZD_SECRET, now: clock.now },
  cw: { webhookSecret: CW_SECRET, now: clock.now },
  bridge: { zendesk: { signing_secret: ZD_SECRET }, chatwoot: { webhook_secret: CW_SECRET }, log_retention_days: 30 },
});
afterAll(() => b.close());

test("day files switch at midnight while running and old ones are removed by the maintenance service", async () => {
  b.zd.comment(TICKET, "just before midnight");
  await b.idle();
  const conv = b.cw.conversations[0]!.id;
  const day1 = join(b.logDir, "log_2030_06_14.txt");
  expect(readFileSync(day1, "utf8")).toContain(`✅ Zendesk → Chatwoot: ${TICKET} → ${conv}`);

  offset += 2_000; // 00:00:01 on 15 June
  b.cw.reply(conv, "just after midnight");
  await b.idle();
  const day2 = join(b.logDir, "log_2030_06_15.txt");
  expect(readFileSync(day2, "utf8")).toContain(`✅ Chatwoot → Zendesk: ${conv} → ${TICKET}`);
  expect(readFileSync(day2, "utf8")).toMatch(/^2030-06-15 00:00:0\d\.\d{3} /);
  expect(readFileSync(day1, "utf8")).not.toContain("✅ Chatwoot → Zendesk");
  expect(readFileSync(day1, "utf8")).toContain("not forwarded: echo of a message the bridge posted");

  writeFileSync(join(b.logDir, "log_2030_05_01.txt"), "old\n"); // 45 days old
  writeFileSync(join(b.logDir, "log_2030_05_20.txt"), "recent\n"); // 26 days old
  await b.ferry.daemon.ctx.scheduler.runNow("bridge.cleanup");
  expect(existsSync(join(b.logDir, "log_2030_05_01.txt"))).toBe(false);
  expect(readdirSync(b.logDir).sort()).toEqual(["log_2030_05_20.txt", "log_2030_06_14.txt", "log_2030_06_15.txt"]);
  const health = await b.health();
  expect(health.scheduler.find((s: any) => s.name === "bridge.cleanup").ok).toBe(true);
});

test("the dedupe window is pruned by the same service", async () => {
  const db = b.ferry.daemon.store.db;
  const count = () => (db.prepare("SELECT count(*) AS n FROM bridge_processed").get() as { n: number }).n;
  expect(count()).toBeGreaterThan(0);
  offset += 2 * 3_600_000; // past the 1h window
  await b.ferry.daemon.ctx.scheduler.runNow("bridge.cleanup");
  expect(count()).toBe(0);
});

test("no token or secret appears in day files, ferry's log or /health", async () => {
  // A failing call too, so error paths are covered.
  b.zd.failNext({ method: "PUT", path: /tickets/, status: 401, body: JSON.stringify({ error: "Couldn't authenticate you" }) });
  b.cw.reply(b.cw.conversations[0]!.id, "meets a 401");
  await b.zd.settled();
  await b.cw.settled();
  for (let i = 0; i < 100 && !b.dayLog().includes("401 credentials rejected"); i++) await Bun.sleep(20);
  const day = b.dayLog();
  expect(day).toContain("Zendesk PUT /api/v2/tickets/5158.json: 401 credentials rejected");
  const json = readFileSync(logFile, "utf8");
  expect(json).toContain("Chatwoot → Zendesk"); // the JSON log has the records too
  const health = JSON.stringify(await b.health());
  const secrets = [
    b.zd.apiToken,
    b.cw.apiToken,
    ZD_SECRET,
    CW_SECRET,
    Buffer.from(`${b.zd.email}/token:${b.zd.apiToken}`).toString("base64"),
  ];
  for (const s of secrets) {
    expect(day.includes(s)).toBe(false);
    expect(json.includes(s)).toBe(false);
    expect(health.includes(s)).toBe(false);
  }
});
