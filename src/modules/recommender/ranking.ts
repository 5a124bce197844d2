// Ranking "what next after the activity just done": pure functions, no database, no clock.
//
// Four simple signals ("experts") each score the candidates: what learners did next after this
// activity (sequence), how much the course's activities are used (popularity), the next
// activities in course order, and the learner's own record (not yet done first). Which of them
// predicts where learners go differs between courses, so the blend weights are learned online
// per course with Hedge (multiplicative weights) from each expert's hits and misses on every
// real move learners make. Then long-term value re-ranks the plausible few: the reward learners
// collected after making each move (learning.ts).

export const EXPERTS = ["sequence", "popularity", "course_order", "personal_sequence", "sequence_backoff", "recent_sequence"] as const;
export type Expert = (typeof EXPERTS)[number];
export const N_EXPERTS = EXPERTS.length;

/**
 * Prior weights: the sequence list is the strongest simple list on real course data (what
 * learners did next), popularity its fallback where a successor count is missing; course order
 * and the learner's record start small and earn their weight from hits.
 */
export const PRIOR: readonly number[] = [0.2, 0.2, 0.1, 0.05, 0.3, 0.15];
/**
 * Per later move from the same activity, an earlier move's weight in the recent-sequence
 * signal is multiplied by this (a half-life of one move): classes often move together,
 * so where the last few learners went from here predicts the next one.
 */
export const RECENCY = 0.5;
/** Hedge learning rate (per move, losses in 0..1) and the fixed share mixed back in per move. */
export const HEDGE_ETA = 4;
export const HEDGE_SHARE = 0.1;
/** How many of the blend's best are "plausible" enough for the value re-rank. */
export const PLAUSIBLE = 5;
/** Pseudo-count of the value estimate's shrinkage: conf = n / (n + VALUE_PRIOR_N). */
export const VALUE_PRIOR_N = 3;

/** What one (from → to) move has taught: how often it was made, and what followed it. */
export interface MoveStat {
  n: number;
  /** Recency-weighted count, as of `rt` moves from the same activity (see RECENCY). */
  rn: number;
  rt: number;
  /** Sum over the moves of the discounted reward collected after them (learning.ts). */
  ret: number;
  /** Grades (0..1) learners received after the move (within the credit horizon). */
  gsum: number;
  gn: number;
}

export interface Candidate {
  cmid: number;
  /** Position in the course's activity order. */
  position: number;
  uses: number;
}

export interface LearnerView {
  done: ReadonlySet<number>;
  seen: ReadonlySet<number>;
  grades: ReadonlyMap<number, number>;
}

export interface RankInput {
  /** The activity the learner has just done here (null: nothing yet in this module). */
  anchor: number | null;
  /** The anchor's place in the course order when it is not recommendable itself. */
  anchorPosition?: number | null;
  /** Recommendable activities (the anchor may be among them; it is handled here). */
  candidates: readonly Candidate[];
  /** Moves learners made from the anchor, by target. */
  successors: ReadonlyMap<number, MoveStat> | undefined;
  learner: LearnerView;
  /** Per-expert weights (hedgeUpdate()). */
  weights: readonly number[];
  passGrade: number;
  valueWeight: number;
  /** How many to return (default: every candidate). */
  limit?: number;
}

export interface Ranked {
  cmid: number;
  score: number;
  /** Blend before the value re-rank. */
  blend: number;
  /** Per-expert score in [0, 1]. */
  parts: number[];
  /** Mean discounted reward after the move anchor → cmid, when learners made it. */
  value: number | null;
  /** The value re-rank moved it (up or down). */
  valueShift: number;
  retry: boolean;
}

/** Each expert's score of each candidate, in [0, 1] (1 = that expert's best). Hot path: plain loops. */
export function expertScores(anchorPos: number | null, cands: readonly Candidate[], successors: ReadonlyMap<number, MoveStat> | undefined, l: LearnerView): number[][] {
  const n = cands.length;
  const out: number[][] = [];
  for (let e = 0; e < N_EXPERTS; e++) out.push(new Array<number>(n).fill(0));
  const [seq, pop, order, personal, backoff, recent] = out as [number[], number[], number[], number[], number[], number[]];
  let clock = 0;
  if (successors) for (const s of successors.values()) clock += s.n;
  let totalUses = 0;
  for (let i = 0; i < n; i++) totalUses += cands[i]!.uses;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (cands[i]!.position < cands[i - 1]!.position) sorted = false;
  // Course order: the activities after the anchor score 1/d, d = 1 for the very next one; with
  // no anchor, the first activities of the list.
  const byPos = sorted ? null : [...cands.keys()].sort((a, b) => cands[a]!.position - cands[b]!.position);
  let d = 0;
  for (let k = 0; k < n; k++) {
    const i = byPos ? byPos[k]! : k;
    if (anchorPos === null || cands[i]!.position > anchorPos) order[i] = 1 / ++d;
  }
  for (let i = 0; i < n; i++) {
    const c = cands[i]!;
    const s = successors?.get(c.cmid);
    const count = s ? s.n : 0;
    seq[i] = count;
    pop[i] = c.uses;
    // Sequence backed off to popularity: (n(p→c) + κ·share(c)) / (N_p + κ) with κ = 1 pseudo-move
    // spread over the activities by their use (a Dirichlet prior from popularity).
    backoff[i] = count + (totalUses > 0 ? c.uses / totalUses : 0);
    // The same, for this learner: what they have not done yet first (started: half, completed: a quarter).
    personal[i] = backoff[i]! * (l.done.has(c.cmid) ? 0.25 : l.seen.has(c.cmid) ? 0.5 : 1);
    recent[i] = recentCount(s, clock);
  }
  for (const v of [seq, pop, personal, backoff, recent]) {
    let max = 0;
    for (let i = 0; i < n; i++) if (v[i]! > max) max = v[i]!;
    if (max > 0) for (let i = 0; i < n; i++) v[i] = v[i]! / max;
  }
  return out;
}

/** A move's recency-weighted count now, after `clock` moves from its activity in all. */
export function recentCount(s: MoveStat | undefined, clock: number): number {
  return s ? s.rn * Math.pow(RECENCY, Math.max(0, clock - s.rt)) : 0;
}

/** Counts one more move from an activity to `to` (successors: every move from that activity). */
export function recordMove(successors: Map<number, MoveStat>, to: number): MoveStat {
  let clock = 0;
  for (const s of successors.values()) clock += s.n;
  let s = successors.get(to);
  if (!s) successors.set(to, (s = { n: 0, rn: 0, rt: 0, ret: 0, gsum: 0, gn: 0 }));
  s.rn = recentCount(s, clock) + 1;
  s.n++;
  s.rt = clock + 1;
  return s;
}

/** The expert with the largest weight (the first on a tie). */
export function leader(w: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < w.length; i++) if (w[i]! > w[best]!) best = i;
  return best;
}

/**
 * Hedge with fixed share, one observed move: w_i ← w_i · exp(−η · loss_i), normalised, then
 * mixed with the prior: (1 − share) · w + share · prior. The share keeps every signal
 * recoverable, so the weights track the best signal when a course's behaviour shifts.
 */
export function hedgeUpdate(w: readonly number[], moveLosses: readonly number[], eta = HEDGE_ETA, share = HEDGE_SHARE, prior: readonly number[] = PRIOR): number[] {
  const raw = w.map((x, i) => x * Math.exp(-eta * moveLosses[i]!));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((x, i) => (1 - share) * (x / sum) + share * prior[i]!);
}

/**
 * One expert's loss on a move to `target`: 1 − (P(hit@1) + P(hit@3)) / 2, ties broken at
 * random (so an expert with no opinion, all scores equal, earns no hit it did not predict).
 */
export function expertLoss(scores: readonly number[], targetIdx: number): number {
  const t = scores[targetIdx]!;
  if (!(t > 0)) return 1;
  let greater = 0;
  let equal = 0;
  scores.forEach((s, i) => {
    if (i === targetIdx) return;
    if (s > t) greater++;
    else if (s === t) equal++;
  });
  const hit = (k: number) => Math.min(1, Math.max(0, (k - greater) / (equal + 1)));
  return 1 - (hit(1) + hit(3)) / 2;
}

/**
 * Every signal's loss on one observed move anchor → target, as expertLoss(expertScores(…)) would
 * give it, without building the score arrays (the pipeline judges every move; normalising by a
 * positive maximum does not change any comparison). Null when the target is not a candidate.
 */
export function moveLosses(anchor: number, anchorPos: number, cands: readonly Candidate[], successors: ReadonlyMap<number, MoveStat> | undefined, l: LearnerView, target: number): number[] | null {
  let clock = 0;
  if (successors) for (const s of successors.values()) clock += s.n;
  let totalUses = 0;
  let sorted = true;
  let found = false;
  for (let i = 0; i < cands.length; i++) {
    const c = cands[i]!;
    totalUses += c.uses;
    if (i > 0 && c.position < cands[i - 1]!.position) sorted = false;
    if (c.cmid === target) found = true;
  }
  if (!found || target === anchor) return null;
  // Course order: 1/d with d the rank after the anchor by position.
  const after = (pos: number): number => {
    if (pos <= anchorPos) return 0;
    let d = 0;
    for (const c of cands) if (c.cmid !== anchor && c.position > anchorPos && c.position <= pos) d++;
    return 1 / d;
  };
  const pw = (s: MoveStat | undefined) => (s ? (clock - s.rt <= 0 ? s.rn : s.rn * Math.pow(RECENCY, clock - s.rt)) : 0);
  const share = totalUses > 0 ? 1 / totalUses : 0;
  const tc = cands.find((c) => c.cmid === target)!;
  const ts = successors?.get(target);
  const tn = ts ? ts.n : 0;
  const tb = tn + tc.uses * share;
  const t = [tn, tc.uses, after(tc.position), tb * (l.done.has(target) ? 0.25 : l.seen.has(target) ? 0.5 : 1), tb, pw(ts)];
  const greater = [0, 0, 0, 0, 0, 0];
  const equal = [0, 0, 0, 0, 0, 0];
  const cmp = (e: number, v: number) => {
    if (v > t[e]!) greater[e]!++;
    else if (v === t[e]) equal[e]!++;
  };
  let d = 0;
  for (const c of cands) {
    if (c.cmid === anchor) continue;
    const cd = c.position > anchorPos ? (sorted ? 1 / ++d : after(c.position)) : 0;
    if (c.cmid === target) continue;
    const s = successors?.get(c.cmid);
    const n = s ? s.n : 0;
    const b = n + c.uses * share;
    cmp(0, n);
    cmp(1, c.uses);
    cmp(2, cd);
    cmp(3, b * (l.done.has(c.cmid) ? 0.25 : l.seen.has(c.cmid) ? 0.5 : 1));
    cmp(4, b);
    cmp(5, pw(s));
  }
  const hit = (e: number, k: number) => Math.min(1, Math.max(0, (k - greater[e]!) / (equal[e]! + 1)));
  return t.map((x, e) => (x > 0 ? 1 - (hit(e, 1) + hit(e, 3)) / 2 : 1));
}

/** Candidates excluding the anchor (what an observed move is judged against). */
export function moveCandidates(anchor: number, cands: readonly Candidate[]): Candidate[] {
  return cands.filter((c) => c.cmid !== anchor);
}

/**
 * The ranked list. The anchor (the activity just done) is never first; when the learner's grade
 * there is below the pass grade it is offered second, as a retry that says so.
 */
export function rank(input: RankInput): Ranked[] {
  const { anchor, learner: l } = input;
  const anchorGrade = anchor === null ? undefined : l.grades.get(anchor);
  let anchorIn = false;
  let anchorPos = input.anchorPosition ?? null;
  for (const c of input.candidates) if (c.cmid === anchor) (anchorIn = true), (anchorPos = c.position);
  const retry = anchorIn && anchorGrade !== undefined && anchorGrade < input.passGrade;
  const cands = anchorIn ? moveCandidates(anchor!, input.candidates) : input.candidates;
  const parts = expertScores(anchorPos, cands, input.successors, l);
  const w = input.weights;
  const lead = leader(w);
  const n = cands.length;
  const score = new Array<number>(n);
  const blend = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let e = 0; e < N_EXPERTS; e++) b += w[e]! * parts[e]![i]!;
    blend[i] = b;
    score[i] = parts[lead]![i]!;
  }
  // The leading expert orders; the weighted blend of all of them breaks its ties, then course order.
  const byScore = (a: number, b: number) => score[b]! - score[a]! || blend[b]! - blend[a]! || cands[a]!.position - cands[b]!.position;
  const idx = [...cands.keys()].sort(byScore);
  const limit = Math.min(n, input.limit ?? n);
  const make = (i: number): Ranked => {
    const s = input.successors?.get(cands[i]!.cmid);
    return { cmid: cands[i]!.cmid, score: score[i]!, blend: blend[i]!, parts: parts.map((p) => p[i]!), value: s && s.n > 0 ? s.ret / s.n : null, valueShift: 0, retry: false };
  };
  // Value re-rank of the plausible few: a move whose learners later collected more reward than
  // the others' moves climbs, in proportion to the evidence (shrunk towards the mean).
  const plausible = idx.slice(0, PLAUSIBLE).map(make);
  const top = plausible.filter((r) => r.value !== null && r.score > 0);
  if (input.valueWeight > 0 && top.length >= 2) {
    const mean = top.reduce((a, r) => a + r.value!, 0) / top.length;
    for (const r of top) {
      const count = input.successors!.get(r.cmid)!.n;
      r.valueShift = input.valueWeight * (count / (count + VALUE_PRIOR_N)) * (r.value! - mean);
      r.score += r.valueShift;
    }
    const pos = new Map(cands.map((c) => [c.cmid, c.position]));
    plausible.sort((a, b) => b.score - a.score || b.blend - a.blend || pos.get(a.cmid)! - pos.get(b.cmid)!);
  }
  const out = plausible.slice(0, limit);
  for (let k = PLAUSIBLE; k < limit; k++) out.push(make(idx[k]!));
  if (retry) {
    const s = input.successors?.get(anchor!);
    // A justified retry comes second, after the predicted next step: on real course data learners
    // who failed mostly moved on (first place cost the top-1 hit rate ~12 points on course 2).
    out.splice(Math.min(1, out.length), 0, { cmid: anchor!, score: Infinity, blend: 0, parts: EXPERTS.map(() => 0), value: s && s.n > 0 ? s.ret / s.n : null, valueShift: 0, retry: true });
  }
  return out;
}
