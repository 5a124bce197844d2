// Request-body reading in-process: ferry's readJson (byte limit, depth and 2^53 checks) vs the
// bare `JSON.parse(await request.text())` it replaced, on the real observer payloads (1 and 100
// logs). Best of 40 rounds, interleaved, so machine noise hits both alike.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readJson } from "../../src/http/plugin";
import { FIXTURES } from "../helpers/ferry";
import type { BenchRow } from "./harness";

export async function run(): Promise<BenchRow[]> {
  const lines = readFileSync(join(FIXTURES, "moodle/observer_payloads.jsonl"), "utf8").split("\n").filter(Boolean);
  const logs = lines.flatMap((l) => JSON.parse(l).logs);
  const rows: BenchRow[] = [];
  for (const n of [1, 100]) {
    const body = JSON.stringify({ event_id: "bench", logs: logs.slice(0, n) });
    const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
    const req = () => new Request("http://ferry.invalid/webhook/moodle-events", { method: "POST", body, headers });
    const per = n === 1 ? 5000 : 500;
    let bare = Infinity;
    let ours = Infinity;
    for (let round = 0; round < 40; round++) {
      let t = performance.now();
      for (let i = 0; i < per; i++) JSON.parse(await req().text());
      bare = Math.min(bare, (performance.now() - t) / per);
      t = performance.now();
      for (let i = 0; i < per; i++) await readJson(req(), 1 << 20);
      ours = Math.min(ours, (performance.now() - t) / per);
    }
    const note = `${(ours * 1000).toFixed(1)} µs vs ${(bare * 1000).toFixed(1)} µs per body (${body.length} B)`;
    rows.push({ scenario: "read-json", target: `bare text() + JSON.parse, ${n} log${n > 1 ? "s" : ""}`, rate: Math.round(1000 / bare), unit: "bodies/s", ratio: 1 });
    rows.push({ scenario: "read-json", target: `readJson with limits, ${n} log${n > 1 ? "s" : ""}`, rate: Math.round(1000 / ours), unit: "bodies/s", ratio: bare / ours, note });
  }
  return rows;
}
