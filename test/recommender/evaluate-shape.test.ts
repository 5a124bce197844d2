import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, tempDir, writeConfig } from "../helpers/ferry";
import { hubCourse } from "./synthetic";

// A course of another shape than course 2 (hub-and-spoke lessons: what follows the hub depends
// on what the learner has done), written as a logstore CSV export and judged by `ferry
// evaluate`: ferry must be at least the better baseline there too, with the same code and
// constants (guards against fitting course 2).

test("a course of another shape: ferry evaluate's ferry is at least the better baseline at HR@1 and HR@3", () => {
  const dir = tempDir();
  const course = hubCourse(11);
  writeFileSync(join(dir, "log.csv"), course.csv);
  writeFileSync(join(dir, "structure.json"), JSON.stringify(course.structure));
  const cfg = writeConfig(dir);
  for (const fraction of ["0.5", "0.7"]) {
    const p = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), "evaluate", join(dir, "log.csv"), "--course-structure", join(dir, "structure.json"), "--config", cfg, "--split-fraction", fraction, "--json"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(p.stderr.toString());
    const r = JSON.parse(p.stdout.toString());
    expect(r.moves).toBeGreaterThan(100);
    for (const k of ["@1", "@3"]) {
      const best = Math.max(r.methods.popularity.hr[k], r.methods.successor.hr[k]);
      expect(r.methods.ferry.hr[k]).toBeGreaterThanOrEqual(best);
    }
  }
}, 60_000);
