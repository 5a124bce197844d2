import type { RecommenderConfig } from "./config";
import type { MoveStat } from "./ranking";

// Rewards and the learning rules, as pure functions (the engine applies them in event order).

export type RewardWeights = RecommenderConfig["reward"];

export function clip(r: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, r));
}

/** A grade g (0..1) on an activity whose best so far was prevBest: grade, improvement, failure. */
export function gradeReward(g: number, prevBest: number | undefined, w: RewardWeights, passGrade: number): number {
  return w.grade * g + w.improvement * Math.max(0, g - (prevBest ?? 0)) + (g < passGrade ? w.failure : 0);
}

/** Moodle completionstate 1/2 = complete (pass), 3 = complete-fail; only the first completion pays. */
export function completionReward(state: number, wasDone: boolean, w: RewardWeights): number | null {
  if (state === 3) return w.failure;
  return wasDone ? null : w.completion;
}

/** Normalised grade: finalgrade / grademax, clamped to 0..1 (a real 0 stays 0). */
export function normaliseGrade(final: number, max: number): number {
  return max > 0 ? Math.max(0, Math.min(1, final / max)) : 0;
}

/** The tabular Q-learning step: Q(s,a) + α [r + γ max Q(s',·) − Q(s,a)]. */
export function qStep(q: number, r: number, maxNext: number, alpha: number, gamma: number): number {
  return q + alpha * (r + gamma * maxNext - q);
}

/** How many of a learner's latest moves share in an outcome (the newest gets r, the one before γr, …). */
export const CREDIT_HORIZON = 3;

/**
 * Credits an outcome (reward r, and the grade when it is one) to the learner's latest moves:
 * the j-th newest move gets γ^j · r. A move's value (ret / n) is then the mean discounted
 * reward learners collected after making it: a Monte-Carlo estimate of Q(activity just done,
 * next activity) for the course's learners. Returns the stats it changed.
 */
export function creditMoves(trace: ReadonlyArray<readonly [number, number]>, r: number, grade: number | null, gamma: number, stat: (from: number, to: number) => MoveStat): Array<[number, number, MoveStat]> {
  const changed: Array<[number, number, MoveStat]> = [];
  for (let j = 0; j < trace.length && j < CREDIT_HORIZON; j++) {
    const [from, to] = trace[trace.length - 1 - j]!;
    const s = stat(from, to);
    s.ret += Math.pow(gamma, j) * r;
    if (grade !== null) {
      s.gsum += grade;
      s.gn++;
    }
    changed.push([from, to, s]);
  }
  return changed;
}

/** Appends a move to the learner's trace, keeping the credit horizon. */
export function pushTrace(trace: Array<[number, number]>, from: number, to: number): void {
  trace.push([from, to]);
  if (trace.length > CREDIT_HORIZON) trace.splice(0, trace.length - CREDIT_HORIZON);
}
