import { expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, ROOT, tempDir, writeConfig } from "../helpers/ferry";
import { CSV_PATH, STRUCTURE_PATH } from "../moodle/fixtures";

function evaluate(extra: string[], file = CSV_PATH, structure = STRUCTURE_PATH) {
  const cfg = writeConfig(tempDir());
  const p = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), "evaluate", file, "--course-structure", structure, "--config", cfg, ...extra], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  return p.stdout.toString();
}

// The figures of spec/moodle-recommender.md ("the move protocol"): moves, popularity and
// successor HR@1 / HR@3 on the course-2 train log at three split fractions.
const SPEC = {
  "0.5": { moves: 41, popularity: [0.707, 1.0], successor: [0.561, 0.976] },
  "0.6": { moves: 40, popularity: [0.7, 1.0], successor: [0.55, 0.975] },
  "0.7": { moves: 36, popularity: [0.667, 1.0], successor: [0.556, 1.0] },
} as const;

for (const [fraction, want] of Object.entries(SPEC)) {
  test(`ferry evaluate at split ${fraction}: the spec's baselines, and ferry at least the better one at HR@1 and HR@3`, () => {
    const r = JSON.parse(evaluate(["--json", "--split-fraction", fraction]));
    expect(r.moves).toBe(want.moves);
    expect(Object.keys(r.methods)).toEqual(["ferry", "popularity", "successor", "random"]);
    for (const base of ["popularity", "successor"] as const) {
      expect(Math.abs(r.methods[base].hr["@1"] - want[base][0])).toBeLessThanOrEqual(0.02);
      expect(Math.abs(r.methods[base].hr["@3"] - want[base][1])).toBeLessThanOrEqual(0.02);
    }
    for (const k of ["@1", "@3"]) {
      const best = Math.max(r.methods.popularity.hr[k], r.methods.successor.hr[k]);
      expect(r.methods.ferry.hr[k]).toBeGreaterThanOrEqual(best);
    }
    for (const m of Object.values(r.methods) as any[]) {
      expect(Object.keys(m.hr)).toEqual(["@1", "@3", "@5"]);
      expect(Object.keys(m.ndcg)).toEqual(["@1", "@3", "@5"]);
      expect(m.hr["@1"]).toBeLessThanOrEqual(m.hr["@3"]);
      expect(m.hr["@3"]).toBeLessThanOrEqual(m.hr["@5"]);
      expect(m.coverage["@1"]).toBeGreaterThan(0);
    }
    expect(r.methods.ferry.hr["@1"]).toBeGreaterThan(r.methods.random.hr["@1"]);
  }, 60_000);
}

test("ferry evaluate: reproducible for a seed; the table names every method and the number of moves", () => {
  const a = evaluate(["--json", "--seed", "7"]);
  expect(JSON.parse(a)).toEqual(JSON.parse(evaluate(["--json", "--seed", "7"])));
  const table = evaluate(["--split-fraction", "0.6", "--seed", "7"]);
  expect(table).toContain("40 moves");
  for (const name of ["ferry", "popularity", "successor", "random"]) expect(table).toContain(`| ${name} |`);
  expect(table).toContain("NDCG@5");
}, 60_000);
