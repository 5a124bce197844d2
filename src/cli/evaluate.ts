import { parseArgs } from "node:util";
import { allMigrations } from "../modules";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../config/load";
import { openStore } from "../store/db";
import { Engine } from "../modules/recommender/engine";
import { classify, LEARNING } from "../modules/recommender/classify";
import { ingestRows, loadStructureFile, readLogs, toRows, type ImportSummary } from "../modules/moodle/importer";
import type { LogRow } from "../modules/moodle/normalize";
import { UsageError } from "./common";

const KS = [1, 3, 5];
type Method = "ferry" | "popularity" | "random";

interface Score {
  hits: number[];
  ndcg: number[];
  recommended: Set<number>[];
}

/** mulberry32: the random baseline is reproducible for a seed (the bench's generator uses it too). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * ferry evaluate FILE: time split; the events before it are imported, the rest replayed in time
 * order through the live pipeline (a temp database). Before each learner's next learning action
 * (on a different activity than their previous one) the current top-k of ferry, of module
 * popularity among not-yet-done activities, and of a random pick are checked against it.
 */
export async function evaluateCommand(configPath: string, args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "course-structure": { type: "string" },
      "course-id": { type: "string" },
      "split-at": { type: "string" },
      "split-fraction": { type: "string" },
      k: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean" },
    },
  });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  // argv as given: the command name first, then its file.
  const file = positionals[0] === "evaluate" ? positionals[1] : positionals[0];
  if (!file) throw new UsageError("evaluate needs a FILE (logstore CSV export or JSONL of observer payloads)");
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const ks = values.k ? [...new Set([...KS, Number(values.k)])].sort((a, b) => a - b) : KS;
  if (ks.some((k) => !Number.isInteger(k) || k < 1 || k > 10)) throw new UsageError("--k must be an integer from 1 to 10");
  const seed = values.seed ? Number(values.seed) : 1;
  const result = evaluate(configPath, file, {
    structure: values["course-structure"],
    courseId: values["course-id"] ? Number(values["course-id"]) : undefined,
    splitAt: values["split-at"],
    fraction: values["split-fraction"] ? Number(values["split-fraction"]) : 0.5,
    ks,
    seed,
  });
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(renderTable(result));
}

export interface EvalResult {
  file: string;
  split_at: string;
  train_events: number;
  test_events: number;
  evaluated_actions: number;
  seed: number;
  ks: number[];
  methods: Record<Method, { hr: Record<string, number>; ndcg: Record<string, number>; coverage: Record<string, number> }>;
  catalogue: number;
}

export function evaluate(
  configPath: string,
  file: string,
  o: { structure?: string; courseId?: number; splitAt?: string; fraction: number; ks: number[]; seed: number },
): EvalResult {
  const config = loadConfig(configPath);
  const dir = mkdtempSync(join(tmpdir(), "ferry-evaluate-"));
  const store = openStore({ path: join(dir, "eval.db"), durability: "normal" }, allMigrations);
  const engine = new Engine(store, () => config, pino({ level: "silent" }));
  engine.load();
  try {
    if (o.structure) loadStructureFile(store, engine, o.structure, o.courseId);
    const summary: ImportSummary = { rows: 0, inserted: 0, duplicates: 0, invalid: 0, firstErrors: [], transitions: 0, seconds: 0 };
    const all: LogRow[] = [];
    for (const logs of readLogs(file, 50_000)) all.push(...toRows(logs, all.length, summary));
    const order = all.map((r, i) => ({ r, i })).sort((a, b) => a.r.timecreated - b.r.timecreated || a.i - b.i).map((x) => x.r);
    if (order.length === 0) throw new UsageError("the file has no valid rows");
    let split: number;
    if (o.splitAt) {
      const t = Date.parse(o.splitAt);
      if (Number.isNaN(t)) throw new UsageError(`--split-at: not an ISO time: ${o.splitAt}`);
      split = Math.floor(t / 1000);
    } else {
      if (!(o.fraction > 0 && o.fraction < 1)) throw new UsageError("--split-fraction must be between 0 and 1");
      split = order[Math.floor(order.length * o.fraction)]!.timecreated;
    }
    const train = order.filter((r) => r.timecreated < split);
    const test = order.filter((r) => r.timecreated >= split);
    ingestRows(store, engine, train, 0);

    const random = rng(o.seed);
    const kmax = Math.max(...o.ks);
    const scores: Record<Method, Score> = {
      ferry: { hits: o.ks.map(() => 0), ndcg: o.ks.map(() => 0), recommended: o.ks.map(() => new Set()) },
      popularity: { hits: o.ks.map(() => 0), ndcg: o.ks.map(() => 0), recommended: o.ks.map(() => new Set()) },
      random: { hits: o.ks.map(() => 0), ndcg: o.ks.map(() => 0), recommended: o.ks.map(() => new Set()) },
    };
    const lastActivity = new Map<string, number>();
    let evaluated = 0;
    const catalogue = new Set<number>();
    for (const row of test) {
      const cls = classify(row.eventname);
      const course = engine.course(row.courseid);
      const target = row.contextinstanceid;
      const eligible =
        LEARNING.has(cls) && (row.edulevel === null || row.edulevel === 2) && row.userid > 0 && !engine.isStaff(course, row.userid) && target !== null && course.activities.has(target);
      if (eligible) {
        const key = `${row.userid}:${row.courseid}`;
        const prev = lastActivity.get(key);
        lastActivity.set(key, target!);
        const learner = engine.knownLearner(row.userid, row.courseid);
        const activity = course.activities.get(target!)!;
        const recommendable = engine.moduleOf(course, activity) !== null && (activity.inStructure || !engine.hasStructure(course));
        if (prev !== target && learner && learner.cur !== null && recommendable) {
          evaluated++;
          const m = learner.cur;
          const ferryList = engine.recommend(learner, m, kmax).recommendations.map((r) => r.activity_id);
          const open = engine.activitiesIn(course, m).filter((a) => !learner.done.has(a.cmid));
          // Coverage is over every recommendable activity of the course: ferry also points into
          // earlier and later modules, so the current module alone would give coverage above 1.
          for (const mod of engine.hasStructure(course) ? course.sections : [course.id]) for (const a of engine.activitiesIn(course, mod)) catalogue.add(a.cmid);
          const popList = [...open].sort((x, y) => y.uses - x.uses || x.position - y.position).map((a) => a.cmid);
          const shuffled = open.map((a) => a.cmid);
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = Math.floor(random() * (i + 1));
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const lists: Record<Method, number[]> = { ferry: ferryList, popularity: popList, random: shuffled };
          for (const method of Object.keys(lists) as Method[]) {
            o.ks.forEach((k, ki) => {
              const top = lists[method].slice(0, k);
              for (const a of top) scores[method].recommended[ki]!.add(a);
              const rank = top.indexOf(target!);
              if (rank >= 0) {
                scores[method].hits[ki]!++;
                scores[method].ndcg[ki]! += 1 / Math.log2(rank + 2);
              }
            });
          }
        }
      }
      // Then the event goes through the live pipeline (one transaction each, as a live batch would).
      ingestRows(store, engine, [row], 0);
    }
    const round = (x: number) => Math.round(x * 10000) / 10000;
    const methods = {} as EvalResult["methods"];
    for (const method of ["ferry", "popularity", "random"] as Method[]) {
      const s = scores[method];
      methods[method] = {
        hr: Object.fromEntries(o.ks.map((k, i) => [`@${k}`, round(evaluated ? s.hits[i]! / evaluated : 0)])),
        ndcg: Object.fromEntries(o.ks.map((k, i) => [`@${k}`, round(evaluated ? s.ndcg[i]! / evaluated : 0)])),
        coverage: Object.fromEntries(o.ks.map((k, i) => [`@${k}`, round(catalogue.size ? s.recommended[i]!.size / catalogue.size : 0)])),
      };
    }
    return {
      file,
      split_at: new Date(split * 1000).toISOString(),
      train_events: train.length,
      test_events: test.length,
      evaluated_actions: evaluated,
      seed: o.seed,
      ks: o.ks,
      methods,
      catalogue: catalogue.size,
    };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderTable(r: EvalResult): string {
  const cols = [...r.ks.map((k) => `HR@${k}`), ...r.ks.map((k) => `NDCG@${k}`), ...r.ks.map((k) => `cov@${k}`)];
  const lines = [
    `ferry evaluate ${r.file}: split at ${r.split_at}; ${r.train_events} events before, ${r.test_events} after; ${r.evaluated_actions} next-activity predictions; seed ${r.seed}`,
    "",
    `| method | ${cols.join(" | ")} |`,
    `|---|${cols.map(() => "---:").join("|")}|`,
  ];
  for (const [name, m] of Object.entries(r.methods)) {
    const vals = [...r.ks.map((k) => m.hr[`@${k}`]), ...r.ks.map((k) => m.ndcg[`@${k}`]), ...r.ks.map((k) => m.coverage[`@${k}`])];
    lines.push(`| ${name} | ${vals.map((v) => v!.toFixed(3)).join(" | ")} |`);
  }
  return lines.join("\n");
}
