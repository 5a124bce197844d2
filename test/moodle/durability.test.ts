import { expect, test } from "bun:test";
import { Database } from "../../src/store/sqlite";
import { freePort, jsonRequest, spawnFerry, tempDir, writeConfig } from "../helpers/ferry";
import { BASE_CONFIG, MOODLE_TOKEN } from "./fixtures";

test("SIGKILL during concurrent POSTs: every batch acknowledged with 202 is in log_events after restart", async () => {
  const dir = tempDir();
  const port = freePort();
  const cfg = writeConfig(dir, { ...BASE_CONFIG, server: { port } });
  const f = await spawnFerry(cfg, port);
  const acked: string[] = [];
  let stop = false;
  const client = async (c: number) => {
    for (let i = 0; !stop; i++) {
      const event_id = `dur-${c}-${i}`;
      const logs = [0, 1, 2].map((j) => ({ userid: String(100 + c), courseid: "9", eventname: "\\mod_page\\event\\course_module_viewed", component: "mod_page", contextinstanceid: String(900 + j), objectid: i, timecreated: 1761000000 + i, edulevel: 2 }));
      try {
        const r = await jsonRequest(f.url, "POST", "/webhook/moodle-events", { body: { event_id, logs }, token: MOODLE_TOKEN });
        if (r.status === 202) acked.push(event_id);
      } catch {
        return; // connection dropped by the kill
      }
    }
  };
  const clients = Array.from({ length: 16 }, (_, c) => client(c));
  await Bun.sleep(300 + Math.floor(Math.random() * 700));
  await f.kill("SIGKILL");
  stop = true;
  await Promise.all(clients);
  expect(acked.length).toBeGreaterThan(20);

  const again = await spawnFerry(cfg, port);
  await again.kill("SIGTERM");
  const db = new Database(dir + "/ferry.db", { readonly: true });
  const batches = new Set(db.prepare("SELECT event_id FROM moodle_batches").pluck().all() as string[]);
  const perBatch = db.prepare("SELECT batch_id, count(*) AS n FROM log_events GROUP BY batch_id").all() as Array<{ batch_id: string; n: number }>;
  db.close();
  const logs = new Map(perBatch.map((r) => [r.batch_id, r.n]));
  for (const id of acked) {
    expect(batches.has(id)).toBe(true);
    expect(logs.get(id)).toBe(3);
  }
}, 60_000);
