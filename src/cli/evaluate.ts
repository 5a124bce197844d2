import { parseArgs } from "node:util";
import { allMigrations } from "../modules";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../config/load";
import { openStore } from "../store/db";
import { Engine } from "../modules/recommender/engine";
import { prepared } from "../store/prepared";
import { readLogs, toRows, type ImportSummary } from "../modules/moodle/importer";
import { ingestRows, loadStructureFile } from "../modules/recommender/history";
import type { LogRow } from "../modules/moodle/normalize";
import { UsageError } from "./common";

const KS = [1, 3, 5];
const METHODS = ["ferry", "popularity", "successor", "random"] as const;
type Method = (typeof METHODS)[number];

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
 * ferry evaluate FILE: the move protocol of spec/moodle-recommender.md. Time split; the rows
 * before it go through the live pipeline (a temp database), the rest one row at a time in time
 * order. Before each move (a learner row on another activity than that learner's previous one)
 * ferry's stored answer for (learner, lesson of the previous activity) — what GET answers at
 * that moment — and the popularity, successor and random lists are checked against it.
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
      trace: { type: "boolean" },
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
    trace: values.trace ? (line) => console.error(line) : undefined,
  });
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(renderTable(result));
}

export interface EvalResult {
  file: string;
  split_at: string;
  split_index: number;
  train_events: number;
  test_events: number;
  moves: number;
  seed: number;
  ks: number[];
  methods: Record<Method, { hr: Record<string, number>; ndcg: Record<string, number>; coverage: Record<string, number> }>;
  catalogue: number;
}

/** Lessons: the delegated (mod_subsection) sections; activity → its lesson. */
function lessonMap(store: ReturnType<typeof openStore>, courseId: number): Map<number, number> {
  const out = new Map<number, number>();
  const row = prepared<[number], { contents: string }>(store.db, "SELECT contents FROM course_structures WHERE course_id = ?").get(courseId);
  if (!row) return out;
  for (const s of JSON.parse(row.contents) as Array<{ id: number; component?: string | null; modules: Array<{ id: number }> }>) {
    if (s.component === "mod_subsection") for (const m of s.modules) out.set(m.id, s.id);
  }
  return out;
}

/** Counts → ids, most first; ties in course order, or (order null) in the order first counted. */
function byCount(counts: Map<number, number>, order: Map<number, number> | null, exclude: number): number[] {
  // Array.prototype.sort is stable: with no order, equal counts keep the Map's insertion order.
  return [...counts.keys()].filter((a) => a !== exclude && counts.get(a)! > 0).sort((x, y) => counts.get(y)! - counts.get(x)! || (order ? (order.get(x) ?? 0) - (order.get(y) ?? 0) : 0));
}

export function evaluate(
  configPath: string,
  file: string,
  o: { structure?: string; courseId?: number; splitAt?: string; fraction: number; ks: number[]; seed: number; trace?: (line: string) => void },
): EvalResult {
  const config = loadConfig(configPath);
  const dir = mkdtempSync(join(tmpdir(), "ferry-evaluate-"));
  const store = openStore({ path: join(dir, "eval.db"), durability: "normal" }, allMigrations);
  const engine = new Engine(store, () => config, pino({ level: "silent" }));
  engine.load();
  try {
    if (!o.structure) throw new UsageError("evaluate needs --course-structure FILE: the move protocol judges moves between the lessons' activities");
    const { course_id: courseId } = loadStructureFile(store, engine, o.structure, o.courseId);
    const lessons = lessonMap(store, courseId);
    const order = new Map([...engine.course(courseId).activities.values()].map((a) => [a.cmid, a.position]));
    const summary: ImportSummary = { rows: 0, inserted: 0, duplicates: 0, invalid: 0, firstErrors: [], transitions: 0, seconds: 0 };
    const all: LogRow[] = [];
    for (const logs of readLogs(file, 50_000)) all.push(...toRows(logs, all.length, summary));
    // Time order, then the logstore id (the dedupe key is the id when the export has one), then file order.
    const rows = all.map((r, i) => ({ r, i })).sort((a, b) => a.r.timecreated - b.r.timecreated || (a.r.dkey > 0 && b.r.dkey > 0 ? a.r.dkey - b.r.dkey : a.i - b.i)).map((x) => x.r);
    if (rows.length === 0) throw new UsageError("the file has no valid rows");
    let split: number;
    if (o.splitAt) {
      const t = Date.parse(o.splitAt);
      if (Number.isNaN(t)) throw new UsageError(`--split-at: not an ISO time: ${o.splitAt}`);
      const at = Math.floor(t / 1000);
      split = rows.findIndex((r) => r.timecreated >= at);
      if (split < 0) split = rows.length;
    } else {
      if (!(o.fraction > 0 && o.fraction < 1)) throw new UsageError("--split-fraction must be between 0 and 1");
      split = Math.floor(o.fraction * rows.length);
    }
    const train = rows.slice(0, split);
    const test = rows.slice(split);
    ingestRows(store, engine, train, 0);

    const random = rng(o.seed);
    const kmax = Math.max(...o.ks);
    const scores = Object.fromEntries(METHODS.map((m) => [m, { hits: o.ks.map(() => 0), ndcg: o.ks.map(() => 0), recommended: o.ks.map(() => new Set<number>()) }])) as Record<Method, Score>;
    const catalogue = [...lessons.keys()].sort((x, y) => (order.get(x) ?? 0) - (order.get(y) ?? 0));
    // Baseline state, built from the same past and updated online in the replay.
    const learningRows = new Map<number, number>();
    const successors = new Map<number, Map<number, number>>();
    const prevOf = new Map<number, number>();
    const course = engine.course(courseId);
    const stored = prepared<[number, number, number], string>(store.db, "SELECT full FROM recommendations WHERE user_id = ? AND module_id = ? AND course_id = ?").pluck();
    let moves = 0;
    /** A learner row: a non-staff learner, module level, on an activity inside a lesson. */
    const learnerActivity = (r: LogRow): number | null =>
      r.courseid === courseId && r.userid > 0 && !engine.isStaff(course, r.userid) && r.contextlevel === 70 && r.contextinstanceid !== null && lessons.has(r.contextinstanceid) ? r.contextinstanceid : null;
    const observe = (r: LogRow, a: number) => {
      const prev = prevOf.get(r.userid);
      if (prev !== undefined && prev !== a) {
        let m = successors.get(prev);
        if (!m) successors.set(prev, (m = new Map()));
        m.set(a, (m.get(a) ?? 0) + 1);
      }
      prevOf.set(r.userid, a);
      if (r.edulevel === 2) learningRows.set(a, (learningRows.get(a) ?? 0) + 1);
    };
    for (const r of train) {
      const a = learnerActivity(r);
      if (a !== null) observe(r, a);
    }
    for (const row of test) {
      const a = learnerActivity(row);
      const prev = a === null ? undefined : prevOf.get(row.userid);
      if (a !== null && prev !== undefined && prev !== a) {
        moves++;
        // What GET answers now: nothing without a stored row, else the answer of the current model.
        const body = stored.get(row.userid, lessons.get(prev)!, courseId) ? engine.freshAnswer(row.userid, courseId, lessons.get(prev)!, kmax) : null;
        const ferryList = body ? body.recommendations.map((x) => x.activity_id).slice(0, kmax) : [];
        const shuffled = catalogue.filter((x) => x !== prev);
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const lists: Record<Method, number[]> = {
          ferry: ferryList,
          popularity: byCount(learningRows, order, prev),
          // Ties: the move learners made first.
          successor: byCount(successors.get(prev) ?? new Map(), null, prev),
          random: shuffled,
        };
        o.trace?.(`move ${moves}: user ${row.userid} ${prev} -> ${a} | ferry ${ferryList.slice(0, 3).join(",")} | popularity ${lists.popularity.slice(0, 3).join(",")} | successor ${lists.successor.slice(0, 3).join(",")} | weights ${JSON.stringify(engine.rankingWeights(courseId).weights)} | anchor ${engine.knownLearner(row.userid, courseId)?.lastIn.get(lessons.get(prev)!)}`);
        for (const method of METHODS) {
          o.ks.forEach((k, ki) => {
            const top = lists[method].slice(0, k);
            for (const x of top) scores[method].recommended[ki]!.add(x);
            const rank = top.indexOf(a);
            if (rank >= 0) {
              scores[method].hits[ki]!++;
              scores[method].ndcg[ki]! += 1 / Math.log2(rank + 2);
            }
          });
        }
      }
      if (a !== null) observe(row, a);
      // Then the row goes through the live pipeline (one transaction each, as a live batch would).
      ingestRows(store, engine, [row], 0);
    }
    const round = (x: number) => Math.round(x * 10000) / 10000;
    const methods = {} as EvalResult["methods"];
    for (const method of METHODS) {
      const s = scores[method];
      methods[method] = {
        hr: Object.fromEntries(o.ks.map((k, i) => [`@${k}`, round(moves ? s.hits[i]! / moves : 0)])),
        ndcg: Object.fromEntries(o.ks.map((k, i) => [`@${k}`, round(moves ? s.ndcg[i]! / moves : 0)])),
        coverage: Object.fromEntries(o.ks.map((k, i) => [`@${k}`, round(catalogue.length ? s.recommended[i]!.size / catalogue.length : 0)])),
      };
    }
    return {
      file,
      split_at: new Date((test[0] ?? rows[rows.length - 1]!).timecreated * 1000).toISOString(),
      split_index: split,
      train_events: train.length,
      test_events: test.length,
      moves,
      seed: o.seed,
      ks: o.ks,
      methods,
      catalogue: catalogue.length,
    };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderTable(r: EvalResult): string {
  const cols = [...r.ks.map((k) => `HR@${k}`), ...r.ks.map((k) => `NDCG@${k}`), ...r.ks.map((k) => `cov@${k}`)];
  const lines = [
    `ferry evaluate ${r.file}: split at row ${r.split_index} (${r.split_at}); ${r.train_events} rows before, ${r.test_events} after; ${r.moves} moves; seed ${r.seed}`,
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
