// `npm run bench`: runs every scenario in test/bench/ (or those named: `npm run bench -- core moodle`)
// and prints one markdown table. Each scenario measures its own baseline in the same run.
import { readdirSync } from "node:fs";
import { BenchHarness, table, type BenchRow } from "./harness";

const NOT_SCENARIOS = new Set(["harness.ts", "run.ts", "loadgen.ts", "baseline-server.ts"]);
const wanted = process.argv.slice(2);
const files = readdirSync(import.meta.dir)
  .filter((f) => f.endsWith(".ts") && !NOT_SCENARIOS.has(f) && !f.endsWith(".test.ts"))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, "")))
  .sort((a, b) => (a === "core.ts" ? -1 : b === "core.ts" ? 1 : a.localeCompare(b)));

const h = new BenchHarness();
const cpu = (await Bun.file("/proc/cpuinfo").text().catch(() => "")).match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
console.error(`ferry bench: ${files.join(", ")} — ${h.tool}, ${h.connections} connections, ${h.durationSec}s per run, ${navigator.hardwareConcurrency} cores (${cpu}), Bun ${Bun.version}`);
const rows: BenchRow[] = [];
for (const f of files) {
  const mod = await import(`./${f}`);
  try {
    const got: BenchRow[] = await mod.run(h);
    rows.push(...got);
    console.error(table(got));
  } catch (err) {
    console.error(`scenario ${f} failed: ${(err as Error).stack ?? err}`);
    rows.push({ scenario: f.replace(/\.ts$/, ""), target: "failed", rate: NaN, note: String((err as Error).message).slice(0, 120) });
  } finally {
    await h.stopAll();
  }
}
console.log(`\n${table(rows)}\n\n_${h.tool}, ${h.connections} connections, ${h.durationSec}s per run, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, ${new Date().toISOString().slice(0, 10)}_`);
process.exit(0);
