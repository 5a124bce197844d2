import { expect, test } from "bun:test";
import { join } from "node:path";
import { Database } from "../../src/store/sqlite";
import { BUN, ROOT, tempDir, writeConfig } from "../helpers/ferry";
import { CSV_PATH, OBSERVER_PATH, STRUCTURE_PATH } from "../moodle/fixtures";

function ferry(args: string[]) {
  const p = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

function snapshot(db: string) {
  const d = new Database(db, { readonly: true });
  const r = {
    logs: d.prepare("SELECT count(*) FROM log_events").pluck().get(),
    history: d.prepare("SELECT count(*) FROM state_history").pluck().get(),
    states: d.prepare("SELECT user_id, course_id, module_id, level, module_idx, progress, score, phase, engagement FROM user_states ORDER BY 1, 2, 3").all(),
    recs: d.prepare("SELECT count(*) FROM recommendations").pluck().get(),
    names: d.prepare("SELECT body FROM recommendations WHERE course_id = 2 LIMIT 1").pluck().get(),
  };
  d.close();
  return r;
}

test("ferry import: logstore CSV with structure, then JSONL; importing twice equals importing once", () => {
  const dir = tempDir();
  const cfg = writeConfig(dir);
  const db = join(dir, "ferry.db");
  let r = ferry(["import", CSV_PATH, "--course-structure", STRUCTURE_PATH, "--config", cfg]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("4405 rows, 4405 new, 0 duplicates, 0 invalid");
  const once = snapshot(db);
  expect(once.logs).toBe(4405);
  expect(once.history as number).toBeGreaterThan(500);
  expect(once.states.length).toBeGreaterThan(20);
  expect(JSON.parse(once.names as string).module_scope).toBe("section");

  r = ferry(["import", CSV_PATH, "--config", cfg]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("4405 rows, 0 new, 4405 duplicates");
  const twice = snapshot(db);
  expect(twice.logs).toBe(once.logs);
  expect(twice.history).toBe(once.history);
  expect(twice.states).toEqual(once.states);

  r = ferry(["import", OBSERVER_PATH, "--config", cfg]);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/277 rows, \d+ new/);
  // No progress bar when stderr is not a terminal.
  expect(r.err).not.toContain("[#");
});

test("ferry import: missing file and missing argument are usage errors", () => {
  const cfg = writeConfig(tempDir());
  expect(ferry(["import", "/nonexistent.csv", "--config", cfg]).code).toBe(64);
  expect(ferry(["import", "--config", cfg]).code).toBe(64);
});
