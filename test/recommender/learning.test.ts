import { describe, expect, test } from "bun:test";
import { clip, completionReward, creditMoves, gradeReward, normaliseGrade, pushTrace, qStep } from "../../src/modules/recommender/learning";
import { QTables } from "../../src/modules/recommender/qtable";
import { expertLoss, expertScores, hedgeUpdate, leader, moveLosses, PRIOR, rank, recentCount, recordMove, type MoveStat } from "../../src/modules/recommender/ranking";
import { engagement, level, newLearner, phase, progressBin, pushRecent, scoreBin } from "../../src/modules/recommender/state";

// Unit tests of the pure learning rules: Q-update, state bins, rewards, ranking.

const W = { completion: 1, grade: 1, improvement: 0.5, failure: -0.5, step: -0.01, clip: 2 };
const stat = (n: number, extra: Partial<MoveStat> = {}): MoveStat => ({ n, rn: n, rt: 0, ret: 0, gsum: 0, gn: 0, ...extra });

describe("Q-learning", () => {
  test("qStep is Q + α (r + γ max Q' − Q)", () => {
    expect(qStep(0, 1, 0, 0.1, 0.9)).toBeCloseTo(0.1);
    expect(qStep(0.5, 0, 2, 0.5, 0.9)).toBeCloseTo(0.5 + 0.5 * (0 + 1.8 - 0.5));
  });
  test("QTables.apply learns in the course table and the global prior, counts the update, tracks the seq", () => {
    const q = new QTables(0.5, 0.9);
    q.apply({ course: 7, s: [1, 0, 0, 0.5, 0, 0], a: 3, r: 1, s2: [1, 0, 0.25, 0.5, 1, 0] }, 4);
    const t = q.courseTable(7)!;
    expect(t.q["1|0|0|0.5|0|0"]![3]).toBeCloseTo(0.5);
    expect(t.n["1|0|0|0.5|0|0"]![3]).toBe(1);
    expect(q.lastSeq).toBe(4);
    // The next state's best value is discounted into the earlier one.
    q.apply({ course: 7, s: [1, 0, 0.25, 0.5, 1, 0], a: 1, r: 2, s2: [1, 0, 0.5, 0.5, 1, 0] }, 5);
    q.apply({ course: 7, s: [1, 0, 0, 0.5, 0, 0], a: 3, r: 0, s2: [1, 0, 0.25, 0.5, 1, 0] }, 6);
    expect(q.courseTable(7)!.q["1|0|0|0.5|0|0"]![3]).toBeCloseTo(0.5 + 0.5 * (0 + 0.9 * 1 - 0.5));
    expect(q.lookup(7, [1, 0, 0, 0.5, 0, 0], 0)!.source).toBe("course");
  });
});

describe("state bins", () => {
  test("level from the mean grade against the thresholds; medium without grades", () => {
    const l = newLearner(1, 1);
    expect(level(l, [0.5, 0.75])).toBe(1);
    l.grades.set(1, 0.2);
    expect(level(l, [0.5, 0.75])).toBe(0);
    l.grades.set(2, 1);
    l.grades.set(3, 1);
    expect(level(l, [0.5, 0.75])).toBe(1); // mean 0.73
    l.grades.set(4, 1);
    expect(level(l, [0.5, 0.75])).toBe(2); // mean 0.8
  });
  test("progress and score bins: quarters, 0 score only for a real 0, neutral without grades", () => {
    expect(progressBin(0, 0)).toBe(0);
    expect(progressBin(1, 3)).toBe(0.25);
    expect(progressBin(3, 3)).toBe(1);
    expect(scoreBin(0, 0)).toBe(0.5);
    expect(scoreBin(0, 2)).toBe(0);
    expect(scoreBin(0.05, 1)).toBe(0.25);
    expect(scoreBin(1.8, 2)).toBe(1);
  });
  test("phase over the 10 latest actions; engagement from weighted, decayed actions", () => {
    const l = newLearner(1, 1);
    expect(phase(l)).toBe(0);
    for (let i = 0; i < 10; i++) pushRecent(l, 0, 1000 + i);
    expect(l.recent.length).toBe(10);
    expect(phase(l)).toBe(0); // views only: pre-learning
    for (let i = 0; i < 4; i++) pushRecent(l, 5, 2000 + i);
    expect(phase(l)).toBe(2); // reviews ≥ 30 %: reflective
    const e = newLearner(2, 1);
    expect(engagement(e)).toBe(0);
    for (let i = 0; i < 5; i++) pushRecent(e, 4, 10_000 + i); // five submissions now
    expect(engagement(e)).toBe(2);
    const old = newLearner(3, 1);
    for (let i = 0; i < 5; i++) pushRecent(old, 4, i);
    pushRecent(old, 0, 30 * 86_400); // a month later: the old ones weigh almost nothing
    expect(engagement(old)).toBe(0);
  });
});

describe("rewards", () => {
  test("grade: grade + improvement over the best so far + failure below the pass grade; clip", () => {
    expect(gradeReward(0.8, undefined, W, 0.5)).toBeCloseTo(0.8 + 0.4);
    expect(gradeReward(0.8, 0.6, W, 0.5)).toBeCloseTo(0.8 + 0.1);
    expect(gradeReward(0.3, 0.6, W, 0.5)).toBeCloseTo(0.3 - 0.5);
    expect(clip(5, 2)).toBe(2);
    expect(clip(-5, 2)).toBe(-2);
    expect(normaliseGrade(7, 10)).toBeCloseTo(0.7);
    expect(normaliseGrade(0, 10)).toBe(0);
    expect(normaliseGrade(12, 10)).toBe(1);
  });
  test("completion pays once; complete-fail is a failure", () => {
    expect(completionReward(1, false, W)).toBe(1);
    expect(completionReward(2, true, W)).toBeNull();
    expect(completionReward(3, false, W)).toBe(-0.5);
  });
  test("an outcome is credited to the latest moves, discounted per move back", () => {
    const trace: Array<[number, number]> = [];
    pushTrace(trace, 1, 2);
    pushTrace(trace, 2, 3);
    pushTrace(trace, 3, 4);
    pushTrace(trace, 4, 5);
    expect(trace).toEqual([[2, 3], [3, 4], [4, 5]]);
    const stats = new Map<string, MoveStat>();
    const get = (a: number, b: number) => {
      const k = `${a}>${b}`;
      if (!stats.has(k)) stats.set(k, stat(1, { rn: 1 }));
      return stats.get(k)!;
    };
    creditMoves(trace, 1, 0.9, 0.5, get);
    expect(stats.get("4>5")!.ret).toBeCloseTo(1);
    expect(stats.get("3>4")!.ret).toBeCloseTo(0.5);
    expect(stats.get("2>3")!.ret).toBeCloseTo(0.25);
    expect(stats.get("4>5")!.gsum).toBeCloseTo(0.9);
    expect(stats.get("4>5")!.gn).toBe(1);
  });
});

describe("ranking", () => {
  const cands = [
    { cmid: 1, position: 0, uses: 10 },
    { cmid: 2, position: 1, uses: 2 },
    { cmid: 3, position: 2, uses: 30 },
    { cmid: 4, position: 3, uses: 5 },
  ];
  const nobody = { done: new Set<number>(), seen: new Set<number>(), grades: new Map<number, number>() };
  const weightsFor = (e: number) => PRIOR.map((_, i) => (i === e ? 0.9 : 0.1 / (PRIOR.length - 1)));

  test("each signal's scores: successors, popularity, the next in course order, recency", () => {
    const succ = new Map<number, MoveStat>([[4, stat(3)], [3, stat(1)]]);
    const s = expertScores(0, cands.slice(1), succ, nobody);
    expect(s[0]).toEqual([0, 1 / 3, 1]); // sequence: counts / max
    expect(s[1]).toEqual([2 / 30, 1, 5 / 30]); // popularity
    expect(s[2]).toEqual([1, 1 / 2, 1 / 3]); // course order: 1 / steps after the anchor
  });

  test("recency: the latest moves from an activity count most", () => {
    const succ = new Map<number, MoveStat>();
    for (let i = 0; i < 5; i++) recordMove(succ, 2);
    recordMove(succ, 3);
    recordMove(succ, 3);
    expect(succ.get(2)!.n).toBe(5);
    const clock = 7;
    expect(recentCount(succ.get(3), clock)).toBeGreaterThan(recentCount(succ.get(2), clock));
  });

  test("the leading signal orders; the activity just done is never first", () => {
    const succ = new Map<number, MoveStat>([[4, stat(3)], [2, stat(1)]]);
    const bySeq = rank({ anchor: 1, candidates: cands, successors: succ, learner: nobody, weights: weightsFor(0), passGrade: 0.5, valueWeight: 0 });
    expect(bySeq.map((r) => r.cmid).slice(0, 2)).toEqual([4, 2]);
    expect(bySeq.map((r) => r.cmid)).not.toContain(1);
    const byPop = rank({ anchor: 1, candidates: cands, successors: succ, learner: nobody, weights: weightsFor(1), passGrade: 0.5, valueWeight: 0 });
    expect(byPop[0]!.cmid).toBe(3);
  });

  test("a failing grade on the activity just done: it comes second, as a retry", () => {
    const l = { ...nobody, grades: new Map([[1, 0.3]]) };
    const r = rank({ anchor: 1, candidates: cands, successors: new Map([[4, stat(3)]]), learner: l, weights: weightsFor(0), passGrade: 0.5, valueWeight: 0 });
    expect(r[0]!.cmid).toBe(4);
    expect(r[1]).toMatchObject({ cmid: 1, retry: true });
  });

  test("value re-rank: a less common move with a much better outcome climbs; equal outcomes change nothing", () => {
    const better = new Map<number, MoveStat>([[2, stat(8, { ret: 8 * 0.1 })], [4, stat(5, { ret: 5 * 1.4 })]]);
    const r = rank({ anchor: 1, candidates: cands, successors: better, learner: nobody, weights: weightsFor(0), passGrade: 0.5, valueWeight: 1 });
    expect(r[0]!.cmid).toBe(4);
    expect(r[0]!.valueShift).toBeGreaterThan(0);
    const equal = new Map<number, MoveStat>([[2, stat(8, { ret: 8 * 0.5 })], [4, stat(5, { ret: 5 * 0.5 })]]);
    const e = rank({ anchor: 1, candidates: cands, successors: equal, learner: nobody, weights: weightsFor(0), passGrade: 0.5, valueWeight: 1 });
    expect(e[0]!.cmid).toBe(2);
    expect(e[0]!.valueShift).toBeCloseTo(0);
  });

  test("Hedge: losses from hits at 1 and 3 (ties shared); weights move to the signal that predicts, and the share keeps the others alive", () => {
    expect(expertLoss([0.2, 1, 0.5], 1)).toBe(0);
    expect(expertLoss([0.2, 1, 0.5], 2)).toBe(0.5);
    expect(expertLoss([0, 0, 0], 1)).toBe(1);
    expect(expertLoss([1, 1, 1, 1], 0)).toBeCloseTo(1 - (1 / 4 + 3 / 4) / 2);
    let w = [...PRIOR];
    for (let i = 0; i < 20; i++) w = hedgeUpdate(w, PRIOR.map((_, e) => (e === 1 ? 0 : 1)));
    expect(leader(w)).toBe(1);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(Math.min(...w)).toBeGreaterThan(0);
  });
});

test("moveLosses (the pipeline's judge) equals expertLoss over expertScores", () => {
  const cands = Array.from({ length: 12 }, (_, i) => ({ cmid: 100 + i, position: i * 3, uses: (i * 7) % 5 }));
  const succ = new Map<number, MoveStat>();
  for (const to of [103, 105, 105, 108, 103, 103, 111]) recordMove(succ, to);
  const l = { done: new Set([105]), seen: new Set([108, 103]), grades: new Map<number, number>() };
  const anchor = cands[4]!;
  const judged = cands.filter((c) => c.cmid !== anchor.cmid);
  for (const target of judged) {
    const idx = judged.indexOf(target);
    const want = expertScores(anchor.position, judged, succ, l).map((s) => expertLoss(s, idx));
    const got = moveLosses(anchor.cmid, anchor.position, cands, succ, l, target.cmid)!;
    for (let e = 0; e < want.length; e++) expect(got[e]).toBeCloseTo(want[e]!, 10);
  }
  expect(moveLosses(anchor.cmid, anchor.position, cands, succ, l, 999)).toBeNull();
});
