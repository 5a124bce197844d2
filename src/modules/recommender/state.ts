import { activitiesIn, moduleIdx, moduleOf, type Course } from "./course";
import type { StateTuple } from "./qtable";

// The six state dimensions (spec table), computed from a learner's record in one course.

/** Learning event classes as small ints in the learner's recent-actions list. */
export const CLASS_CODES = ["view_content", "view_assignment", "submit_assignment", "attempt_quiz", "submit_quiz", "review_quiz", "post_forum", "view_forum"] as const;
const VIEW = new Set([0, 1, 7]);
const REFLECT = new Set([5]);
/** Engagement weight per class code: producing counts more than looking. */
const WEIGHT = [1, 1, 3, 2, 3, 2, 3, 1];
const RECENT = 10;
const DAY = 86_400;

export interface Learner {
  userId: number;
  courseId: number;
  /** Module of the learner's latest learning action. */
  cur: number | null;
  /** Last RECENT learning actions: [class code, time (Moodle seconds)]. */
  recent: Array<[number, number]>;
  done: Set<number>;
  seen: Set<number>;
  /** Latest normalised grade per activity. */
  grades: Map<number, number>;
  /** Best normalised grade per activity (for the improvement reward). */
  best: Map<number, number>;
  last: { a: number; m: number } | null;
  /** Last submission (for mapping grade items to activities): [cmid, time]. */
  lastSubmit: [number, number] | null;
  /** The activity of the learner's latest module-level event (any kind: where they are). */
  lastAct: number | null;
  /** Per module: the learner's latest activity there (the "just done" of that module's answer). */
  lastIn: Map<number, number>;
  /** The latest moves [from, to], newest last (outcomes are credited to them). */
  trace: Array<[number, number]>;
  /** Every move this learner made: from → to → count (taken out of the course's counts if they turn out to be staff). */
  moves: Map<number, Map<number, number>>;
}

export function newLearner(userId: number, courseId: number): Learner {
  return { userId, courseId, cur: null, recent: [], done: new Set(), seen: new Set(), grades: new Map(), best: new Map(), last: null, lastSubmit: null, lastAct: null, lastIn: new Map(), trace: [], moves: new Map() };
}

export function learnerToJson(l: Learner): string {
  return JSON.stringify({ cur: l.cur, recent: l.recent, done: [...l.done], seen: [...l.seen], grades: [...l.grades], best: [...l.best], last: l.last, sub: l.lastSubmit, la: l.lastAct, li: [...l.lastIn], tr: l.trace, mv: movesToJson(l.moves) });
}

export function learnerFromJson(userId: number, courseId: number, text: string): Learner {
  const d = JSON.parse(text);
  return {
    userId,
    courseId,
    cur: d.cur ?? null,
    recent: d.recent ?? [],
    done: new Set(d.done ?? []),
    seen: new Set(d.seen ?? []),
    grades: new Map(d.grades ?? []),
    best: new Map(d.best ?? []),
    last: d.last ?? null,
    lastSubmit: d.sub ?? null,
    lastAct: d.la ?? null,
    lastIn: new Map(d.li ?? []),
    trace: d.tr ?? [],
    moves: movesFromJson(d.mv ?? []),
  };
}

/** Counts a move in the learner's own record. */
export function countMove(l: Learner, from: number, to: number): void {
  let m = l.moves.get(from);
  if (!m) l.moves.set(from, (m = new Map()));
  m.set(to, (m.get(to) ?? 0) + 1);
}

function movesToJson(moves: Map<number, Map<number, number>>): number[] {
  const out: number[] = [];
  for (const [from, m] of moves) for (const [to, n] of m) out.push(from, to, n);
  return out;
}

function movesFromJson(flat: number[]): Map<number, Map<number, number>> {
  const out = new Map<number, Map<number, number>>();
  for (let i = 0; i + 2 < flat.length; i += 3) {
    let m = out.get(flat[i]!);
    if (!m) out.set(flat[i]!, (m = new Map()));
    m.set(flat[i + 1]!, flat[i + 2]!);
  }
  return out;
}

export function pushRecent(l: Learner, code: number, time: number): void {
  l.recent.push([code, time]);
  if (l.recent.length > RECENT) l.recent.splice(0, l.recent.length - RECENT);
}

/** 0 weak, 1 medium, 2 strong from the mean normalised grade of the course; 1 with no grade yet. */
export function level(l: Learner, thresholds: readonly [number, number]): number {
  if (l.grades.size === 0) return 1;
  let sum = 0;
  for (const g of l.grades.values()) sum += g;
  const mean = sum / l.grades.size;
  return mean < thresholds[0] ? 0 : mean < thresholds[1] ? 1 : 2;
}

/** Quarter bins; 1 only when complete. */
export function progressBin(touched: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(1, Math.floor((touched / total) * 4) / 4);
}

/** Quarter bins of the mean grade; the 0 bin only for a real 0; no grade yet = 0.5 (neutral). */
export function scoreBin(sum: number, n: number): number {
  if (n === 0) return 0.5;
  const mean = sum / n;
  if (mean <= 0) return 0;
  return Math.max(0.25, Math.round(mean * 4) / 4);
}

/** 0 pre-learning, 1 active, 2 reflective over the 10 most recent actions. */
export function phase(l: Learner): number {
  const n = l.recent.length;
  if (n < 3) return 0;
  let views = 0;
  let reflect = 0;
  for (const [c] of l.recent) {
    if (VIEW.has(c)) views++;
    else if (REFLECT.has(c)) reflect++;
  }
  if (reflect / n >= 0.3) return 2;
  if (views / n >= 0.7) return 0;
  return 1;
}

/** 0 low, 1 medium, 2 high: weighted recent actions, each halved per 3 days before the latest. */
export function engagement(l: Learner): number {
  const n = l.recent.length;
  if (n === 0) return 0;
  const latest = l.recent[n - 1]![1];
  let score = 0;
  for (const [c, t] of l.recent) score += WEIGHT[c]! * Math.pow(0.5, Math.max(0, latest - t) / (3 * DAY));
  return score >= 12 ? 2 : score >= 5 ? 1 : 0;
}

export function tupleToState(s: readonly number[]) {
  return { level: s[0]!, module_idx: s[1]!, progress: s[2]!, score: s[3]!, phase: s[4]!, engagement: s[5]! };
}

export type { StateTuple };

/** The learner's six-dimension state in module m of course c (spec table). */
export function moduleState(l: Learner, c: Course, m: number, thresholds: readonly [number, number]): StateTuple {
  const acts = activitiesIn(c, m);
  let touched = 0;
  let gsum = 0;
  let gn = 0;
  for (const a of acts) {
    if (l.done.has(a.cmid) || l.seen.has(a.cmid)) touched++;
    const g = l.grades.get(a.cmid);
    if (g !== undefined) {
      gsum += g;
      gn++;
    }
  }
  // Graded activities that are no longer in the structure still count for the module they were in.
  if (gn === 0) {
    for (const [cmid, g] of l.grades) {
      const a = c.activities.get(cmid);
      if (a && moduleOf(c, a) === m) {
        gsum += g;
        gn++;
      }
    }
  }
  return [level(l, thresholds), moduleIdx(c, m), progressBin(touched, acts.length), scoreBin(gsum, gn), phase(l), engagement(l)];
}
